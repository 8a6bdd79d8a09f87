"""The demo persons' MitID identities: shared by the test broker, the demo loader and the tests."""

from __future__ import annotations

from dataclasses import dataclass

from biblogin.common.assurance import NSIS_SUBSTANTIAL
from biblogin.common.cpr import mask_cpr


@dataclass(frozen=True, repr=False)
class DemoMitIDIdentity:
    """A fictitious person as the test MitID broker knows them (``sub`` is what one types)."""

    sub: str
    name: str
    cpr: str
    loa: str = NSIS_SUBSTANTIAL

    def __repr__(self) -> str:
        return (
            f"DemoMitIDIdentity(sub={self.sub!r}, name={self.name!r}, cpr={mask_cpr(self.cpr)!r})"
        )

    def claims(self, *, cpr_claim: str, loa_claim: str) -> dict[str, object]:
        """Return the claims the broker issues for this person, under the given claim names."""
        return {cpr_claim: self.cpr, "name": self.name, loa_claim: self.loa}


DEMO_MITID_IDENTITIES: tuple[DemoMitIDIdentity, ...] = (
    DemoMitIDIdentity(sub="anna", name="Anna Andersen", cpr="1503851234"),
    DemoMitIDIdentity(sub="bo", name="Bo Bertelsen", cpr="0207921235"),
    DemoMitIDIdentity(sub="clara", name="Clara Christensen", cpr="2309881236"),
    DemoMitIDIdentity(sub="dorte", name="Dorte Dahl", cpr="1111701237"),
    DemoMitIDIdentity(sub="erik", name="Erik Eriksen", cpr="3012651239"),
    DemoMitIDIdentity(sub="frederik", name="Frederik Friis", cpr="0505054240"),
    DemoMitIDIdentity(sub="gitte", name="Gitte Gade", cpr="0808801238"),
    DemoMitIDIdentity(sub="henrik", name="Henrik Holm", cpr="1212901242"),
)


def demo_mitid_identity_get(*, sub: str) -> DemoMitIDIdentity:
    """Return the demo identity with this broker subject; KeyError when there is none."""
    for identity in DEMO_MITID_IDENTITIES:
        if identity.sub == sub:
            return identity
    raise KeyError(sub)
