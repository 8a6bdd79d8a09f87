# SQLite: the search's FTS5 indexes (migrations 0001 and 0004) on smaller leaf pages, so that a
# term of a few thousand rows gets a doclist index. FTS5 builds one only for a term whose rows
# span more than four leaf pages (FTS5_MIN_DLIDX_SIZE); without it, "the first K matches from
# this ID on" (one per stratum, biblogin.catalogue.search.engine) reads the term's rows from the
# first: at 1M manifestations a term of 4,500 rows took 11, 22, 37 and 52 us for the four
# strata, and 11 us each on pages of 1,000 bytes (default 4,050; bench/RESULTS.md, issue 11).
# The setting is kept in each table's config and holds for every segment written afterwards.

from django.db import migrations

PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 4050  # FTS5's own
_MAIN = "catalogue_manifestation_fts"
# The contentless tables cannot be rebuilt from their content: emptied and filled again, with
# the rowid migration 0004 gives them.
_BEST_KEY = "((min(length(m.search_title), 1000000) << 40) | m.id)"
_CONTENTLESS = (
    ("catalogue_manifestation_fts_title", "search_title"),
    ("catalogue_manifestation_fts_creators", "search_creators"),
)


def _statements(page_size: int) -> list[str]:
    sql = [
        f"INSERT INTO {_MAIN}({_MAIN}, rank) VALUES ('pgsz', {page_size})",
        f"INSERT INTO {_MAIN}({_MAIN}) VALUES ('rebuild')",
    ]
    for table, column in _CONTENTLESS:
        sql += [
            f"INSERT INTO {table}({table}, rank) VALUES ('pgsz', {page_size})",
            f"INSERT INTO {table}({table}) VALUES ('delete-all')",
            f"INSERT INTO {table}(rowid, {column}) SELECT {_BEST_KEY}, m.{column} "
            "FROM catalogue_manifestation m",
        ]
    # One segment per table, as the bulk load leaves them (search.backends.refresh_term_counts).
    return sql + [
        f"INSERT INTO {t}({t}) VALUES ('optimize')" for t in (_MAIN, *(t for t, _ in _CONTENTLESS))
    ]


def _run(schema_editor, page_size: int) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        for sql in _statements(page_size):
            schema_editor.execute(sql)


def _smaller(apps, schema_editor):  # type: ignore[no-untyped-def]
    _run(schema_editor, PAGE_SIZE)


def _default(apps, schema_editor):  # type: ignore[no-untyped-def]
    _run(schema_editor, DEFAULT_PAGE_SIZE)


class Migration(migrations.Migration):

    dependencies = [
        ("catalogue", "0005_holding_shelf_index"),
    ]

    operations = [
        migrations.RunPython(_smaller, _default),
    ]
