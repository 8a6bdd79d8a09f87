"""The login journey: what an authorization request asks of a login, kept in the session.

A request that cannot be answered from the browser's recent logins (SSO, R-LOGIN-11) becomes a
*plan*: a small JSON dict under a namespaced session key, naming the client, the original
request and what the login must satisfy. The login pages read the plan, and put the finished
login in it; the authorization endpoint then resumes with exactly that login.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.urls import reverse

from biblogin.common.agency_ids import is_agency_id
from biblogin.common.assurance import (
    ACR_ALIASES,
    ACR_PIN,
    ACR_RANK,
    NSIS_SUBSTANTIAL,
    acr_satisfies,
)
from biblogin.login.constants import IDP_ALIASES, IdentityProvider

# Namespaced session keys (JSON only; the session serializer is JSON).
SESSION_PLANS = "biblogin.login.plans"
SESSION_RECENT = "biblogin.login.recent"
MAX_PLANS = 5
MAX_RECENT = 5
PLAN_TTL_SECONDS = 30 * 60
_PLAN_ID = re.compile(r"^[A-Za-z0-9_\-]{16,64}$")
_AGENCY_TYPES = {"folk", "forsk"}


@dataclass(frozen=True)
class LoginRequest:
    """What one authorization request asks of the login (R-LOGIN-2, R-LOGIN-3, R-LOGIN-10)."""

    idps: tuple[str, ...]
    agency: str | None = None
    branch: str | None = None
    presel: str | None = None
    agencytype: str | None = None
    force: bool = False
    silent: bool = False
    min_acr: str | None = None
    max_age: int | None = None
    language: str | None = None


class LoginRequestError(ValueError):
    """The authorization request's login parameters cannot be satisfied or are malformed."""


def _single(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 512:
        raise LoginRequestError(f"malformed {name}")
    return value.strip()


def login_request_parse(*, params: Mapping[str, Any], client_idps: list[str]) -> LoginRequest:
    """Read idp, agency, presel, agencytype, prompt/force_login, acr_values and max_age."""
    idps = [i for i in IdentityProvider.values if i in client_idps]
    wanted = _single(params, "idp")
    if wanted:
        # R-LOGIN-2: the request narrows the client's set; ``nemlogin`` names MitID.
        names = {IDP_ALIASES.get(w.lower(), w.lower()) for w in wanted.replace(",", " ").split()}
        idps = [i for i in idps if i in names]
        if not idps:
            raise LoginRequestError("no allowed identity provider left")
    prompt = set((_single(params, "prompt") or "").split())
    force = "login" in prompt or (_single(params, "force_login") or "") in {"1", "true"}
    silent = "none" in prompt
    max_age_text = _single(params, "max_age")
    max_age: int | None = None
    if max_age_text:
        if not max_age_text.isascii() or not max_age_text.isdigit() or len(max_age_text) > 9:
            raise LoginRequestError("max_age must be a non-negative integer")
        max_age = int(max_age_text)
    min_acr = _min_acr(_single(params, "acr_values") or "")
    if min_acr is not None and IdentityProvider.MITID in idps:
        # R-LOGIN-10: a level above the PIN is only reached with MitID.
        idps = [IdentityProvider.MITID]
    elif min_acr is not None:
        min_acr = None  # the client cannot get MitID: it gets the PIN level and sees it in acr
    # An agency or branch ID (the same shape, R-VIP-10); anything else is ignored.
    agency = _single(params, "agency")
    agency = agency if is_agency_id(agency) else None
    presel = _single(params, "presel")
    presel = presel if is_agency_id(presel) else None
    agencytype = (_single(params, "agencytype") or "").lower() or None
    if agencytype not in _AGENCY_TYPES:
        agencytype = None
    return LoginRequest(
        idps=tuple(idps),
        agency=agency,
        presel=presel,
        agencytype=agencytype,
        force=force,
        silent=silent,
        min_acr=min_acr,
        max_age=max_age,
        language=_ui_language(params.get("ui_locales")),
    )


def _ui_language(ui_locales: object) -> str | None:
    """OIDC ``ui_locales``: the first of the client's preferred tags that we speak (en-GB: en).

    Only a preference: a value we cannot read is ignored rather than refused.
    """
    if not isinstance(ui_locales, str) or len(ui_locales) > 512:
        return None
    spoken = {code for code, _name in settings.LANGUAGES}
    for tag in ui_locales.split():
        primary = tag.split("-")[0].lower()
        if primary in spoken:
            return primary
    return None


def _min_acr(acr_values: str) -> str | None:
    """The weakest level the client accepts, when every level it names is above the PIN."""
    named = [ACR_ALIASES[v] for v in acr_values.split() if v in ACR_ALIASES]
    if not named:
        return None
    weakest = min(named, key=lambda uri: ACR_RANK[uri])
    return None if weakest == ACR_PIN else weakest


# --- plans -----------------------------------------------------------------------------------


@dataclass
class Plan:
    id: str
    client_id: str
    query: str
    created: int
    idps: list[str]
    agency: str | None = None
    branch: str | None = None
    presel: str | None = None
    agencytype: str | None = None
    force: bool = False
    min_acr: str | None = None
    max_age: int | None = None
    mitid: dict[str, str] | None = None
    done: int | None = None
    notice: str | None = None
    language: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def needs_mitid(self) -> bool:
        return self.min_acr is not None and acr_satisfies(self.min_acr, NSIS_SUBSTANTIAL)


def _plain(value: Any) -> Any:
    """A copy of a JSON-like value: its dicts and lists new, the rest as it is."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    return value


def _as_dict(record: Plan | RecentLogin) -> dict[str, Any]:
    """``dataclasses.asdict`` of a plan or a recent login (fields of JSON values only), without
    its generic deep copy: asdict was 0.1-0.2 ms of CPU per call, three calls a login."""
    names = _FIELD_NAMES.get(type(record))
    if names is None:
        names = _FIELD_NAMES[type(record)] = tuple(f.name for f in fields(record))
    return {name: _plain(getattr(record, name)) for name in names}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _plans(session: SessionBase) -> dict[str, dict[str, Any]]:
    raw = session.get(SESSION_PLANS)
    return raw if isinstance(raw, dict) else {}


def plan_create(
    *, session: SessionBase, client_id: str, query: str, login_request: LoginRequest
) -> Plan:
    """Keep a new plan in the session (dropping expired and the oldest beyond MAX_PLANS)."""
    now = int(time.time())
    plan = Plan(
        id=secrets.token_urlsafe(18),
        client_id=client_id,
        query=query,
        created=now,
        idps=list(login_request.idps),
        agency=login_request.agency,
        branch=login_request.branch,
        presel=login_request.presel,
        agencytype=login_request.agencytype,
        force=login_request.force,
        min_acr=login_request.min_acr,
        max_age=login_request.max_age,
        language=login_request.language,
    )
    plans = {
        k: v
        for k, v in _plans(session).items()
        if isinstance(v, dict) and now - int(v.get("created", 0)) < PLAN_TTL_SECONDS
    }
    plans[plan.id] = _as_dict(plan)
    while len(plans) > MAX_PLANS:
        oldest = min(plans, key=lambda k: int(plans[k].get("created", 0)))
        plans.pop(oldest)
    session[SESSION_PLANS] = plans
    return plan


def plan_get(*, session: SessionBase, plan_id: object) -> Plan | None:
    """Return the plan with this ID if this session has it and it has not expired."""
    if not isinstance(plan_id, str) or not _PLAN_ID.fullmatch(plan_id):
        return None
    raw = _plans(session).get(plan_id)
    if not isinstance(raw, dict):
        return None
    try:
        plan = Plan(**raw)
    except TypeError:
        return None
    if int(time.time()) - plan.created >= PLAN_TTL_SECONDS:
        return None
    return plan


def plan_get_stale(*, session: SessionBase, plan_id: object) -> Plan | None:
    """Return the plan with this ID even when it has expired: to say whose login it was."""
    if not isinstance(plan_id, str) or not _PLAN_ID.fullmatch(plan_id):
        return None
    raw = _plans(session).get(plan_id)
    try:
        return Plan(**raw) if isinstance(raw, dict) else None
    except TypeError:
        return None


def plan_answered(*, plan: Plan) -> bool:
    """Tell whether the client has had its answer from this plan (a login or a cancel)."""
    return plan.done is not None or bool(plan.extra.get("cancelled"))


def plan_save(*, session: SessionBase, plan: Plan) -> None:
    plans = _plans(session)
    plans[plan.id] = _as_dict(plan)
    session[SESSION_PLANS] = plans


def plan_latest_with_mitid(*, session: SessionBase) -> Plan | None:
    """The newest plan with a MitID login under way (an error answer may come without state)."""
    candidates = [
        (int(raw.get("created", 0)), plan_id)
        for plan_id, raw in _plans(session).items()
        if isinstance(raw, dict) and isinstance(raw.get("mitid"), dict)
    ]
    for _created, plan_id in sorted(candidates, reverse=True):
        plan = plan_get(session=session, plan_id=plan_id)
        if plan is not None:
            return plan
    return None


def plan_for_mitid_state(*, session: SessionBase, state: object) -> Plan | None:
    """Find the plan whose MitID login was started with this ``state``."""
    if not isinstance(state, str) or not state:
        return None
    for plan_id, raw in _plans(session).items():
        kept = raw.get("mitid") if isinstance(raw, dict) else None
        if isinstance(kept, dict) and secrets.compare_digest(
            str(kept.get("state", "")).encode(), state.encode("utf-8", "replace")
        ):
            return plan_get(session=session, plan_id=plan_id)
    return None


def login_entry_url(plan: Plan) -> str:
    """Where a plan's login starts: MitID when only MitID will do, the locked library's form,
    or the library picker."""
    suffix = f"?plan={plan.id}"
    if plan.needs_mitid or plan.idps == [IdentityProvider.MITID]:
        return reverse("login:mitid") + suffix
    if plan.agency and IdentityProvider.BORCHK in plan.idps:
        return reverse("login:library", kwargs={"agency_id": plan.agency}) + suffix
    return reverse("login:picker") + suffix


def restart_url(plan: Plan) -> str:
    """The client's authorization request again, as it first came: a fresh login for it."""
    return f"{reverse('oauth2_provider:authorize')}?{plan.query}"


def resume_url(plan: Plan) -> str:
    """The authorization request the plan came from, marked as answered by this plan."""
    return f"{reverse('oauth2_provider:authorize')}?{plan.query}&login_plan={plan.id}"


# --- recent logins (SSO) ---------------------------------------------------------------------


@dataclass(frozen=True)
class RecentLogin:
    """One login of this browser: ``a`` the Authentication pk, ``u`` the user pk."""

    a: int
    u: int
    idp: str
    agency: str
    t: int
    acr: str


def recent_logins(*, session: SessionBase) -> list[RecentLogin]:
    raw = session.get(SESSION_RECENT)
    result: list[RecentLogin] = []
    for item in raw if isinstance(raw, list) else []:
        try:
            result.append(RecentLogin(**item))
        except TypeError:
            continue
    return result


def recent_login_add(*, session: SessionBase, entry: RecentLogin) -> None:
    """Remember a login, newest first; one entry per identity."""
    kept = [e for e in recent_logins(session=session) if e.u != entry.u]
    session[SESSION_RECENT] = [_as_dict(e) for e in [entry, *kept][:MAX_RECENT]]


def journey_state(*, session: SessionBase) -> dict[str, Any]:
    """Return what must survive ``django.contrib.auth.login`` flushing the session."""
    return {k: session[k] for k in (SESSION_PLANS, SESSION_RECENT) if k in session}


def journey_restore(*, session: SessionBase, state: Mapping[str, Any]) -> None:
    for key, value in state.items():
        session[key] = value
