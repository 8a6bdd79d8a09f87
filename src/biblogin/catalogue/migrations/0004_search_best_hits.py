# The search's title and creator hits in ranking order (biblogin.catalogue.search.engine,
# BEST): the ranking's tie-break after the tier is the shorter title, so these indexes read
# the manifestations whose title (or creators) hold the terms shortest title first.
# - SQLite: two FTS5 tables without content, one over the title tokens and one over the
#   creators', whose rowid is the sort key (title length << 40) | manifestation ID; triggers
#   keep them in step with the manifestation table, as the main FTS5 table's do.
# - PostgreSQL: a GIN index per field (title, creators); the field's matches are sorted by
#   (length(search_title), id).

from django.db import migrations

BEST_KEY = "((min(length({0}.search_title), 1000000) << 40) | {0}.id)"
_TABLES = (
    ("catalogue_manifestation_fts_title", "search_title"),
    ("catalogue_manifestation_fts_creators", "search_creators"),
)
SQLITE_CREATE = []
for _table, _column in _TABLES:
    _new = f"{BEST_KEY.format('new')}, new.{_column}"
    _old = f"'delete', {BEST_KEY.format('old')}, old.{_column}"
    SQLITE_CREATE += [
        f"CREATE VIRTUAL TABLE {_table} USING fts5({_column}, content='', "
        "tokenize='unicode61 remove_diacritics 0', detail='none')",
        f"CREATE TRIGGER {_table}_ai AFTER INSERT ON catalogue_manifestation "
        f"BEGIN INSERT INTO {_table}(rowid, {_column}) VALUES ({_new}); END",
        f"CREATE TRIGGER {_table}_ad AFTER DELETE ON catalogue_manifestation "
        f"BEGIN INSERT INTO {_table}({_table}, rowid, {_column}) VALUES ({_old}); END",
        f"CREATE TRIGGER {_table}_au AFTER UPDATE OF search_title, {_column}, id "
        f"ON catalogue_manifestation BEGIN "
        f"INSERT INTO {_table}({_table}, rowid, {_column}) VALUES ({_old}); "
        f"INSERT INTO {_table}(rowid, {_column}) VALUES ({_new}); END",
        f"INSERT INTO {_table}(rowid, {_column}) SELECT {BEST_KEY.format('m')}, m.{_column} "
        "FROM catalogue_manifestation m",
    ]
SQLITE_DROP = [
    sql
    for _table, _ in _TABLES
    for sql in (
        f"DROP TRIGGER IF EXISTS {_table}_ai",
        f"DROP TRIGGER IF EXISTS {_table}_ad",
        f"DROP TRIGGER IF EXISTS {_table}_au",
        f"DROP TABLE IF EXISTS {_table}",
    )
]
# Each field's own tsvector, not search_vector's weights: a GIN index cannot tell weights
# apart, so 'term:B' would recheck every row with the term anywhere.
POSTGRES_BEST_TERMS = [
    "CREATE INDEX catalogue_manifestation_title_terms ON catalogue_manifestation "
    "USING GIN (to_tsvector('simple'::regconfig, search_title))",
    "CREATE INDEX catalogue_manifestation_creator_terms ON catalogue_manifestation "
    "USING GIN (to_tsvector('simple'::regconfig, search_creators))",
]
POSTGRES_CREATE = [*POSTGRES_BEST_TERMS]
POSTGRES_DROP = [
    "DROP INDEX IF EXISTS catalogue_manifestation_creator_terms",
    "DROP INDEX IF EXISTS catalogue_manifestation_title_terms",
]


def _run(schema_editor, sqlite: list[str], postgres: list[str]) -> None:  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    for sql in sqlite if vendor == "sqlite" else postgres if vendor == "postgresql" else []:
        schema_editor.execute(sql)


def _create(apps, schema_editor):  # type: ignore[no-untyped-def]
    _run(schema_editor, SQLITE_CREATE, POSTGRES_CREATE)


def _drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    _run(schema_editor, SQLITE_DROP, POSTGRES_DROP)


class Migration(migrations.Migration):

    dependencies = [
        ("catalogue", "0003_search_term_counts"),
    ]

    operations = [
        migrations.RunPython(_create, _drop),
    ]
