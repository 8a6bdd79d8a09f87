"""Small builders for registry rows the borrower check reads."""

from __future__ import annotations

from collections.abc import Sequence

from biblogin.registry.models import Agency, AgencyStatus, AgencyType, ServiceRequester

PORTAL = "bibliotek.dk"


def agency_build(
    *,
    agency_id: str = "710100",
    name: str = "Københavns Biblioteker",
    agency_type: str = AgencyType.FOLKEBIBLIOTEK,
    municipality_no: int | None = 101,
    culr_sync: bool | None = None,
    borrower_check: bool = True,
    user_id_kinds: Sequence[str] = ("cpr", "borrower_number"),
    borrower_check_services: Sequence[str] = (PORTAL,),
    status: str = AgencyStatus.ACTIVE,
) -> Agency:
    """Create an agency; public libraries deliver to CULR unless told otherwise (R-VIP-2)."""
    agency = Agency.objects.create(
        agency_id=agency_id,
        name=name,
        agency_type=agency_type,
        municipality_no=municipality_no,
        culr_sync=agency_type == AgencyType.FOLKEBIBLIOTEK if culr_sync is None else culr_sync,
        borrower_check=borrower_check,
        user_id_kinds=list(user_id_kinds),
        status=status,
    )
    agency.full_clean()
    agency.borrower_check_services.set(
        [ServiceRequester.objects.get_or_create(name=n)[0] for n in borrower_check_services]
    )
    return agency
