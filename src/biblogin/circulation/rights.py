"""Dine adgange: the online services a user has through their libraries (R-PORTAL-14, R-VIP-9).

The one place the rights are computed: the portal's page and ordering (R-ORDER-6, the Digital
Article Service) both ask ``access_rights_for``.
"""

from __future__ import annotations

from dataclasses import dataclass

from biblogin.circulation.users import CirculationUser, user_libraries
from biblogin.registry.models import Agency
from biblogin.registry.selectors import agencies_with_subscriptions


@dataclass(frozen=True)
class GrantingLibrary:
    agency_id: str
    name: str


@dataclass(frozen=True)
class LicensedResourceRight:
    """A licensed e-resource and the libraries that give the user access to it."""

    name: str
    granted_by: tuple[GrantingLibrary, ...]


@dataclass(frozen=True)
class AccessRights:
    """What the user has, each with the libraries that grant it (empty: not granted)."""

    infomedia: tuple[GrantingLibrary, ...] = ()
    digital_article_service: GrantingLibrary | None = None
    licensed_resources: tuple[LicensedResourceRight, ...] = ()

    @property
    def has_infomedia(self) -> bool:
        return bool(self.infomedia)

    @property
    def has_digital_article_service(self) -> bool:
        return self.digital_article_service is not None

    @property
    def is_empty(self) -> bool:
        return not (self.infomedia or self.digital_article_service or self.licensed_resources)


def access_rights_for(*, user: CirculationUser) -> AccessRights:
    """Compute the user's rights from their libraries' subscriptions (R-PORTAL-14).

    - Infomedia: when any of the user's libraries subscribes;
    - Digital Article Service: when the home municipality's public library subscribes and the
      user is registered there (a session user has no known home: R-LOGIN-9);
    - a licensed e-resource: when one of the user's libraries subscribes to it.
    """
    libraries = user_libraries(user=user)
    agencies = agencies_with_subscriptions(agency_ids=libraries.agency_ids)

    def grant(agency: Agency) -> GrantingLibrary:
        return GrantingLibrary(agency_id=agency.agency_id, name=agency.name)

    infomedia = tuple(grant(a) for a in agencies if a.infomedia)
    home = next((a for a in agencies if a.agency_id == libraries.home_agency_id), None)
    article_service = grant(home) if home is not None and home.digital_article_service else None
    resources: dict[str, list[GrantingLibrary]] = {}
    for agency in agencies:
        for resource in agency.licensed_resources.all():
            resources.setdefault(resource.name, []).append(grant(agency))
    return AccessRights(
        infomedia=infomedia,
        digital_article_service=article_service,
        licensed_resources=tuple(
            LicensedResourceRight(name=name, granted_by=tuple(granted))
            for name, granted in sorted(resources.items(), key=lambda kv: kv[0].casefold())
        ),
    )
