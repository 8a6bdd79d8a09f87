"""The authorization request's parameters: what a caller may add, and what stays the client's."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

PROMPT_VALUES = frozenset({"none", "login", "consent", "select_account"})
# Parameters the client sets itself; a caller's extra parameters must not replace them.
OWN_PARAMS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    }
)


def authorization_params_checked(*, redirect_uri: str, params: Mapping[str, str]) -> dict[str, str]:
    """Return the caller's extra authorization parameters, checked; ValueError for a bug."""
    parts = urlsplit(redirect_uri)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.fragment:
        raise ValueError("redirect_uri must be an absolute http(s) URL without fragment")
    extra: dict[str, str] = {}
    for name, value in params.items():
        if name in OWN_PARAMS:
            raise ValueError(f"{name} is set by the client")
        extra[name] = value
    acr_values = extra.get("acr_values")
    if acr_values is not None:
        if not acr_values.strip() or len(acr_values) > 512 or not acr_values.isprintable():
            raise ValueError("acr_values must be a short list of level URIs")
        extra["acr_values"] = acr_values.strip()
    prompt = extra.get("prompt")
    if prompt is not None:
        if not prompt.split() or not set(prompt.split()) <= PROMPT_VALUES:
            raise ValueError(f"unsupported prompt: {prompt!r}")
        extra["prompt"] = " ".join(prompt.split())
    return extra
