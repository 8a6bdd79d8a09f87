"""Circulation: a patron's loans, reservations, debts and access rights across their libraries.

Reads the library systems through the integrations boundary (R-PORTAL-13, R-PORTAL-14, R-PORTAL-15).
"""
