# The SQLite search's snapshot of each term's number of manifestations
# (biblogin.catalogue.search.backends.SqliteFts5Backend.term_counts).

from django.db import migrations

SQLITE_CREATE = [
    "CREATE TABLE catalogue_search_term_count "
    "(term TEXT PRIMARY KEY NOT NULL, docs INTEGER NOT NULL) WITHOUT ROWID",
]
SQLITE_DROP = ["DROP TABLE IF EXISTS catalogue_search_term_count"]


def _create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_CREATE:
            schema_editor.execute(sql)


def _drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_DROP:
            schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ("catalogue", "0002_holding_lendable_index"),
    ]

    operations = [
        migrations.RunPython(_create, _drop),
    ]
