"""Every parameter of an authorization request, judged before oauthlib, a query or a login page.

R-SEC-3: length, control characters (PostgreSQL cannot store NUL) and format, so that a request the
code could not be issued for is refused at once, not after the user typed a PIN. RFC 6749 §4.1.2.1
decides where the answer goes: a problem with ``client_id`` or ``redirect_uri`` is shown on a page
(``redirectable`` False), any other is sent to the client's redirect URI.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.http import QueryDict

from biblogin.common.agency_ids import is_agency_id

# The lengths of the columns the values end in (DOT's Application.client_id, Grant.nonce) or,
# where nothing stores them, generous bounds no honest client comes near.
CLIENT_ID_MAX = 100
REDIRECT_URI_MAX = 2048
STATE_MAX = 2048
NONCE_MAX = 255
OTHER_MAX = 4096

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# RFC 7636 §4.2: BASE64URL-ENCODE(SHA256(verifier)) is 43 characters, no padding.
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
# RFC 6749 §3.3: scope-token = 1*NQCHAR.
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*")
_ASCII_TOKENS = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")
_JWT = re.compile(r"[A-Za-z0-9_=-]+(?:\.[A-Za-z0-9_=-]*){2,4}")
_IDP = re.compile(r"[A-Za-z]+(?:[ ,]+[A-Za-z]+)*")
_PLAN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

# OIDC Core §3.1.2.1.
PROMPT_VALUES = frozenset({"none", "login", "consent", "select_account"})
DISPLAY_VALUES = frozenset({"page", "popup", "touch", "wap"})
# What discovery advertises in response_modes_supported: nothing else is honoured.
RESPONSE_MODES = frozenset({"query"})
CODE_CHALLENGE_METHODS = frozenset({"S256"})

# Parameters that may be given more than once (RFC 8707 resource indicators).
_REPEATABLE = frozenset({"resource"})
# OIDC Core §3.1.2.1: locales are only a preference and "an error SHOULD NOT result"; a value the
# login pages cannot read is ignored there (login.journey), and it is never stored.
_PREFERENCES = frozenset({"ui_locales", "claims_locales"})


@dataclass(frozen=True)
class ParamProblem:
    """Why the request is refused, in OAuth terms."""

    error: str
    description: str
    parameter: str
    redirectable: bool = True

    @property
    def state_usable(self) -> bool:
        """A malformed ``state`` is not echoed back."""
        return self.parameter != "state"


def _tokens_within(
    pattern: re.Pattern[str], *, max_tokens: int, max_length: int
) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        return (
            len(value) <= max_length
            and pattern.fullmatch(value) is not None
            and len(value.split()) <= max_tokens
        )

    return check


def _prompt_ok(value: str) -> bool:
    values = value.split()
    return (
        len(value) <= 64
        and bool(values)
        and set(values) <= PROMPT_VALUES
        and ("none" not in values or len(values) == 1)  # OIDC Core §3.1.2.1
    )


# name -> the format a non-empty value must have. Lengths are part of each check.
_FORMATS: dict[str, Callable[[str], bool]] = {
    "response_type": _tokens_within(_ASCII_TOKENS, max_tokens=3, max_length=64),
    "scope": _tokens_within(_SCOPE, max_tokens=16, max_length=512),
    "state": lambda v: len(v) <= STATE_MAX,
    "nonce": lambda v: len(v) <= NONCE_MAX,
    "code_challenge_method": lambda v: v in CODE_CHALLENGE_METHODS,
    "prompt": _prompt_ok,
    "max_age": lambda v: len(v) <= 9 and v.isascii() and v.isdigit(),
    "acr_values": _tokens_within(_ASCII_TOKENS, max_tokens=8, max_length=1024),
    "login_hint": lambda v: len(v) <= 255,
    "id_token_hint": lambda v: len(v) <= 8192 and _JWT.fullmatch(v) is not None,
    "claims": lambda v: len(v) <= OTHER_MAX,
    "display": lambda v: v in DISPLAY_VALUES,
    # R-LOGIN-2, R-LOGIN-3: the login platform's own parameters.
    "idp": lambda v: len(v) <= 64 and _IDP.fullmatch(v) is not None,
    "agency": is_agency_id,  # or a branch ID: the same shape (R-VIP-10)
    "presel": is_agency_id,
    "agencytype": lambda v: v.lower() in {"folk", "forsk"},
    "force_login": lambda v: v.lower() in {"0", "1", "true", "false"},
    "login_plan": lambda v: _PLAN_ID.fullmatch(v) is not None,
    "resource": lambda v: len(v) <= REDIRECT_URI_MAX,
}


def _client_problem(params: QueryDict) -> ParamProblem | None:
    """``client_id`` and ``redirect_uri``: present, single, and fit to be looked up."""
    for name, limit in (("client_id", CLIENT_ID_MAX), ("redirect_uri", REDIRECT_URI_MAX)):
        values = params.getlist(name)
        if len(values) != 1 or not values[0]:
            # OIDC Core §3.1.2.1: redirect_uri is REQUIRED (no registered default is assumed).
            return ParamProblem("invalid_request", f"{name} is required once", name, False)
        value = values[0]
        if len(value) > limit or _CONTROL.search(value) or any(c.isspace() for c in value):
            return ParamProblem("invalid_request", f"malformed {name}", name, False)
    return None


def authorization_params_problem(*, params: QueryDict) -> ParamProblem | None:
    """Return the first problem of this authorization request's parameters, or None."""
    problem = _client_problem(params)
    if problem is not None:
        return problem
    for name, values in params.lists():
        if name in ("client_id", "redirect_uri") or name in _PREFERENCES:
            continue
        if len(values) > 1 and name not in _REPEATABLE:
            # RFC 6749 §3.1: parameters MUST NOT be included more than once.
            return ParamProblem("invalid_request", f"{name} given more than once", name)
        for value in values:
            if len(value) > OTHER_MAX or _CONTROL.search(value) or len(name) > 64:
                return ParamProblem("invalid_request", f"malformed {name[:64]}", name)
    # OIDC Core §6: request objects are not supported (request_parameter_supported false).
    if params.get("request"):
        return ParamProblem("request_not_supported", "request objects are not supported", "request")
    if params.get("request_uri"):
        return ParamProblem(
            "request_uri_not_supported", "request_uri is not supported", "request_uri"
        )
    mode = params.get("response_mode")
    if mode and mode not in RESPONSE_MODES:
        return ParamProblem("invalid_request", "response_mode must be query", "response_mode")
    for name, valid in _FORMATS.items():
        for value in params.getlist(name):
            # RFC 6749 §3.1: a parameter without a value is treated as omitted.
            if value and not valid(value):
                return ParamProblem("invalid_request", f"malformed {name}", name)
    return _pkce_problem(params)


def _pkce_problem(params: QueryDict) -> ParamProblem | None:
    """RFC 7636 §4.3, RFC 9700 §2.1.1: S256 only, and a challenge of its exact shape."""
    challenge = params.get("code_challenge")
    if not challenge:
        return None  # oauthlib refuses a missing challenge (PKCE_REQUIRED) with invalid_request
    if params.get("code_challenge_method") not in CODE_CHALLENGE_METHODS:
        # Absent means ``plain`` (RFC 7636 §4.3), which this provider does not accept.
        return ParamProblem(
            "invalid_request", "code_challenge_method must be S256", "code_challenge_method"
        )
    if not _S256_CHALLENGE.fullmatch(challenge):
        return ParamProblem(
            "invalid_request", "code_challenge must be 43 base64url characters", "code_challenge"
        )
    return None
