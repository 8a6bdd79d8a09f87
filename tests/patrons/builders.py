"""Small builders for CULR tests: valid CPR numbers and raw database reads."""

from __future__ import annotations

from typing import Any

from django.db import connection

# 15 March 1985, 7th digit 1: born in the 1900s. A real date, so a valid CPR (R-BC-4).
CPR = "1503851234"
CPR_DASHED = "150385-1234"
CPR_MASKED = "150385-XXXX"
OTHER_CPR = "0101901111"


def cpr_number(n: int) -> str:
    """Return the n-th of many distinct valid CPRs (days 1-28, months 1-12, 1900s)."""
    day = n % 28 + 1
    month = (n // 28) % 12 + 1
    year = (n // 336) % 100
    serial = 1000 + (n // 33600) % 3000  # 7th digit 1-3: the 1900s for every year
    return f"{day:02d}{month:02d}{year:02d}{serial:04d}"


def raw_rows(table: str) -> list[tuple[Any, ...]]:
    """Return every row of a table as the database holds it (no model, no decryption)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
        return list(cursor.fetchall())


def every_table_text() -> str:
    """Return the text of every row of every table of the database."""
    parts: list[str] = []
    for table in connection.introspection.table_names():
        for row in raw_rows(table):
            for value in row:
                if isinstance(value, memoryview):
                    value = value.tobytes()
                if isinstance(value, bytes):
                    value = value.decode("utf-8", "replace")
                parts.append(str(value))
    return "\n".join(parts)
