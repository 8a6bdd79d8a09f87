"""Read-only queries of circulation (loans, reservations, access rights)."""
