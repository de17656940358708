"""Trigram indexes on ``lower(col)`` instead of the raw column (PostgreSQL only, a no-op elsewhere).

pg_trgm 1.6 (PostgreSQL 14+) lets ``gin_trgm_ops`` answer ``=`` too, and the planner prices that far too
cheaply: ``legacy_id = 'asst_…'`` and ``legacy_id IN (…)`` went through the trigram index instead of the
unique btree. Every legacy id shares the trigrams of its prefix (``asst_``), so each lookup read the whole
posting list: 7 ms per id at 10,000 assistants, 48 s of a large import spent on ``IN`` lookups. An index on
``lower(col)`` can only serve a query written on ``lower(col)``, which only the search lookup
(``migrator.core.search.ILike``) writes, so equality is left to the btrees.
"""

from django.db import migrations

# What 0008 created on the raw columns.
OLD_INDEXES = (
    ("core_asst_name_trgm", "core_assistant", "name"),
    ("core_asst_legacy_trgm", "core_assistant", "legacy_id"),
    ("core_asst_model_trgm", "core_assistant", "model"),
    ("core_flow_name_trgm", "core_flow", "name"),
    ("core_flow_slug_trgm", "core_flow", "slug"),
)
INDEXES = (
    ("core_asst_name_trgm_lower", "core_assistant", "name"),
    ("core_asst_legacy_trgm_lower", "core_assistant", "legacy_id"),
    ("core_asst_model_trgm_lower", "core_assistant", "model"),
    ("core_flow_name_trgm_lower", "core_flow", "name"),
    ("core_flow_slug_trgm_lower", "core_flow", "slug"),
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in OLD_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    for name, table, column in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (lower("{column}") gin_trgm_ops)'
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    for name, table, column in OLD_INDEXES:
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ("{column}" gin_trgm_ops)')


class Migration(migrations.Migration):
    dependencies = [("core", "0008_search_trigram")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
