"""Search indexes (``migrator.core.search``): PostgreSQL only, a no-op elsewhere.

Trigram GIN indexes serve substring search on short columns. Word search in an assistant's instructions and
description reads ``core_assistant.search_document``, a *stored generated* ``tsvector`` column with a GIN index:
PostgreSQL keeps it current on every write, and a query never re-parses the prose (re-parsing each matching
row's instructions is what made an expression index slower than a table scan for common words). The column is
not a model field: Django never reads or writes it, and other databases simply do not have it.

``CREATE EXTENSION pg_trgm`` needs a role allowed to create it (PostgreSQL 13+: any database owner, as the
extension is trusted). The indexes are GIN ``gin_trgm_ops`` on the raw columns, which serve ``col ILIKE '%q%'``.
"""

from django.db import migrations

INDEXES = (
    ("core_asst_name_trgm", "core_assistant", "name"),
    ("core_asst_legacy_trgm", "core_assistant", "legacy_id"),
    ("core_asst_model_trgm", "core_assistant", "model"),
    ("core_flow_name_trgm", "core_flow", "name"),
    ("core_flow_slug_trgm", "core_flow", "slug"),
)


FULL_TEXT = (
    "ALTER TABLE core_assistant ADD COLUMN IF NOT EXISTS search_document tsvector GENERATED ALWAYS AS "
    "(to_tsvector('english'::regconfig, instructions || ' ' || description)) STORED",
    "CREATE INDEX IF NOT EXISTS core_asst_fts ON core_assistant USING gin (search_document)",
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ("{column}" gin_trgm_ops)')
    for statement in FULL_TEXT:
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    schema_editor.execute("DROP INDEX IF EXISTS core_asst_fts")
    schema_editor.execute("ALTER TABLE core_assistant DROP COLUMN IF EXISTS search_document")


class Migration(migrations.Migration):
    dependencies = [("core", "0007_scale_indexes")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
