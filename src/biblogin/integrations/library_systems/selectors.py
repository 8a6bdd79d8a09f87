"""The one way into a library system for every other app."""

from __future__ import annotations

from biblogin.integrations.library_systems.protocol import LibrarySystem
from biblogin.integrations.library_systems.simulated import SimulatedLibrarySystem


def library_system_for(agency_id: str) -> LibrarySystem:
    """Return the library system of an agency.

    The embedded default is the agency's simulated system; an agency with none configured gets
    an empty one, so that asking it honestly answers "not found" instead of crashing.
    """
    return SimulatedLibrarySystem(agency_id=agency_id)
