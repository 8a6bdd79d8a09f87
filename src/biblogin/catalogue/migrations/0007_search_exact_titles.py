# PostgreSQL: the titles that are just the query, in ID order (biblogin.catalogue.search.
# backends.BEST_SORTED). For a term common in the titles, sorting all its title hits by
# (title length, ID) read every one of them from the table (a common word at 1M: 87,000 rows,
# 180-500 ms; bench/RESULTS.md, issue 11); this B-tree gives the best of them, the titles that
# are the query itself, in ID order, and the search stops after the first 25. The key is a
# prefix of the title (a B-tree entry must fit in a third of a page); the search compares the
# whole title too. SQLite reads its title hits in ranking order from FTS5 (migration 0004).

from django.db import migrations

INDEX = "catalogue_manifestation_title_exact"
CREATE = (
    f"CREATE INDEX {INDEX} ON catalogue_manifestation (left(search_title, 200), id)"
)
POSTGRES_CREATE = [CREATE]
POSTGRES_DROP = [f"DROP INDEX IF EXISTS {INDEX}"]


def _run(schema_editor, statements: list[str]) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        for sql in statements:
            schema_editor.execute(sql)


def _create(apps, schema_editor):  # type: ignore[no-untyped-def]
    _run(schema_editor, POSTGRES_CREATE)


def _drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    _run(schema_editor, POSTGRES_DROP)


class Migration(migrations.Migration):

    dependencies = [
        ("catalogue", "0006_search_fts_page_size"),
    ]

    operations = [
        migrations.RunPython(_create, _drop),
    ]
