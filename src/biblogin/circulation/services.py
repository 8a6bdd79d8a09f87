"""Writes of circulation (renewals, reservation deletions, saved library info)."""
