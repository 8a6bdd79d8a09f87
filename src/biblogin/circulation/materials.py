"""Judge the materials of an order for one pickup agency (R-ORDER-2, R-ORDER-6)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from biblogin.catalogue.models import MaterialType, OnlineAccessKind
from biblogin.catalogue.selectors import holdings_for, manifestations_get, online_access_for
from biblogin.circulation.models import LineKind
from biblogin.circulation.orders import MaterialRequest
from biblogin.circulation.policy import OrderPolicy, PolicyDecision, order_policy_decide

DIGITAL_ARTICLE_SERVICE = "DIGITAL_ARTICLE_SERVICE"
UNKNOWN_MATERIAL = "UNKNOWN_MATERIAL"
PERIODICAL_DETAILS_MISSING = "PERIODICAL_DETAILS_MISSING"
# R-ORDER-6: the periodical form. Year and volume/issue are needed for a physical issue.
PERIODICAL_FIELDS = ("year", "issue", "article_author", "article_title", "pages")
_PERIODICAL_REQUIRED = ("year", "issue")
_MAX_FIELD = 100


@dataclass(frozen=True)
class OrderMaterial:
    """One material on the order page: what it is, and how it would be ordered."""

    pid: str
    title: str
    creators: str
    material_type: str
    known: bool
    reason: str  # "" when orderable; else a policy or reason code
    own_catalogue_url: str = ""
    kind: LineKind = LineKind.PHYSICAL
    # R-ORDER-6: a physical issue needs the periodical form; its values, as typed or known.
    needs_periodical_form: bool = False
    periodical_title: str = ""
    periodical: dict[str, str] = field(default_factory=dict)
    request: MaterialRequest | None = None

    @property
    def orderable(self) -> bool:
        return self.request is not None and self.request.orderable


def _creators(value: object) -> str:
    if not isinstance(value, list):
        return ""
    names = [str(c.get("name", "")) if isinstance(c, dict) else str(c) for c in value]
    return ", ".join(n for n in names if n)


def _clean(details: Mapping[str, str]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for name in PERIODICAL_FIELDS:
        value = details.get(name, "")
        if isinstance(value, str) and value.strip() and "\x00" not in value:
            cleaned[name] = value.strip()[:_MAX_FIELD]
    return cleaned


def order_materials_judge(
    *,
    pids: Sequence[str],
    pickup_agency_id: str,
    digital_article_right: bool,
    periodical_details: Mapping[str, Mapping[str, str]] | None = None,
) -> list[OrderMaterial]:
    """Return each material as it would be ordered to this agency, in the order given.

    R-ORDER-2 from the holdings; R-ORDER-6: an article of a periodical in the Digital Article
    Service goes as a digital copy when the orderer has that right, else the physical issue of
    its periodical is ordered with the periodical form (year and volume/issue required).
    """
    found = manifestations_get(pids=list(pids))
    typed = periodical_details or {}
    judged: list[OrderMaterial] = []
    for pid in pids:
        m = found.get(pid)
        if m is None:
            judged.append(
                OrderMaterial(
                    pid=pid,
                    title=pid,
                    creators="",
                    material_type="",
                    known=False,
                    reason=UNKNOWN_MATERIAL,
                    request=MaterialRequest(
                        pid=pid, title="", policy=UNKNOWN_MATERIAL, orderable=False
                    ),
                )
            )
            continue
        base = OrderMaterial(
            pid=pid,
            title=m.title,
            creators=_creators(m.creators),
            material_type=m.material_type,
            known=True,
            reason="",
        )
        is_article = m.material_type == MaterialType.ARTIKEL and m.periodical is not None
        is_periodical = m.material_type == MaterialType.TIDSSKRIFT
        if is_article and digital_article_right:
            das = any(
                a.kind == OnlineAccessKind.DIGITAL_ARTICLE_SERVICE
                for a in online_access_for(pid=pid)
            )
            if das:
                judged.append(
                    replace(
                        base,
                        kind=LineKind.DIGITAL_ARTICLE,
                        request=MaterialRequest(
                            pid=pid,
                            title=m.title,
                            policy=DIGITAL_ARTICLE_SERVICE,
                            orderable=True,
                            kind=LineKind.DIGITAL_ARTICLE,
                        ),
                    )
                )
                continue
        holding_pid = m.periodical.pid if is_article and m.periodical is not None else pid
        decision = _decide(holding_pid, pickup_agency_id, ill=bool(m.interlibrary_loan))
        if not (is_article or is_periodical):
            judged.append(
                replace(
                    base,
                    reason="" if decision.orderable else decision.policy.value,
                    own_catalogue_url=decision.own_catalogue_url,
                    request=MaterialRequest(
                        pid=pid,
                        title=m.title,
                        policy=decision.policy.value,
                        orderable=decision.orderable,
                    ),
                )
            )
            continue
        # A physical issue of a periodical (R-ORDER-6).
        known_details: dict[str, str] = {}
        if is_article:
            known_details = {
                "year": str(m.year or ""),
                "issue": m.periodical_issue,
                "article_author": _creators(m.creators),
                "article_title": m.title,
                "pages": m.pages,
            }
        details = {**_clean(known_details), **_clean(typed.get(pid, {}))}
        complete = all(details.get(name) for name in _PERIODICAL_REQUIRED)
        reason = "" if decision.orderable else decision.policy.value
        if decision.orderable and not complete:
            reason = PERIODICAL_DETAILS_MISSING
        judged.append(
            replace(
                base,
                reason=reason,
                own_catalogue_url=decision.own_catalogue_url,
                kind=LineKind.PERIODICAL_ISSUE,
                needs_periodical_form=True,
                periodical_title=m.periodical.title if m.periodical is not None else m.title,
                periodical=details,
                request=MaterialRequest(
                    pid=pid,
                    title=m.title,
                    policy=decision.policy.value if complete else PERIODICAL_DETAILS_MISSING,
                    orderable=decision.orderable and complete,
                    kind=LineKind.PERIODICAL_ISSUE,
                    material_id=holding_pid,
                    periodical=details,
                ),
            )
        )
    return judged


def _decide(pid: str, pickup_agency_id: str, *, ill: bool) -> PolicyDecision:
    decision = order_policy_decide(
        holdings=holdings_for(pid=pid), pickup_agency_id=pickup_agency_id
    )
    if decision.policy == OrderPolicy.NOT_OWNED_ILL_LOC and not ill:
        # The record says it cannot be lent between libraries.
        return PolicyDecision(OrderPolicy.NOT_OWNED_NO_ILL_LOC)
    return decision
