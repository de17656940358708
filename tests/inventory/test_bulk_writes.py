"""The importer's batch writers and the database settings behind a fast import (bench/import.py measures them).

Each runs on whichever database the suite uses; the PostgreSQL-only ones (COPY, query plans, asynchronous
commits) skip with the reason elsewhere.
"""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction

from migrator.core.models import Assistant
from migrator.core.search import assistant_filter
from migrator.inventory.models import LegacyThread
from migrator.inventory.services import sql
from migrator.inventory.services.imports import _bulk_gc

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL-only behaviour")


def _threads(n: int, prefix: str = "thread_bulk") -> list[LegacyThread]:
    return [LegacyThread(legacy_id=f"{prefix}{i:04d}", source="test", metadata={"i": i, "nested": [i, {"x": None}]},
                         tags=["bulk", f"t{i}"]) for i in range(n)]


def test_create_objects_sets_pks_and_auto_timestamps():
    objs = _threads(3)
    with transaction.atomic():
        sql.create_objects(LegacyThread, objs, key="legacy_id")
    stored = {t.legacy_id: t for t in LegacyThread.objects.all()}
    for obj in objs:
        assert obj.pk == stored[obj.legacy_id].pk and not obj._state.adding
        assert stored[obj.legacy_id].imported_at is not None and obj.imported_at == stored[obj.legacy_id].imported_at
        assert stored[obj.legacy_id].metadata == obj.metadata and stored[obj.legacy_id].tags == obj.tags


def test_update_rows_writes_every_type_across_chunks():
    """More rows than one statement carries (500), with JSON, datetimes, NULLs and foreign keys."""
    assistant = Assistant.objects.create(legacy_id="asst_bulk", name="Bulk")
    objs = _threads(sql.ROWS_PER_UPDATE + 7)
    with transaction.atomic():
        sql.create_objects(LegacyThread, objs, key="legacy_id")
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    rows = [(f"asst_{i}", assistant.pk if i % 2 else None, {"k": [i, "é", None]}, when if i % 3 else None, i, o.pk)
            for i, o in enumerate(objs)]
    with transaction.atomic():
        assert sql.update_rows(
            LegacyThread, ["assistant_legacy_id", "assistant", "metadata", "last_message_at", "message_count"], rows
        ) == len(rows)
    got = {t.pk: t for t in LegacyThread.objects.all()}
    for legacy, assistant_id, metadata, last, count, pk in rows:
        thread = got[pk]
        assert (thread.assistant_legacy_id, thread.assistant_id, thread.metadata, thread.last_message_at,
                thread.message_count) == (legacy, assistant_id, metadata, last, count)
    assert sql.update_rows(LegacyThread, ["message_count"], []) == 0


@postgres_only
def test_legacy_id_lookups_use_the_btree_not_the_trigram_index():
    """pg_trgm 1.6 can answer `=` from a trigram index, and the planner priced that far too cheaply: each id
    lookup read the posting list every `asst_` id shares (1.3 s for 200 ids at 10,000 assistants)."""
    Assistant.objects.bulk_create([Assistant(legacy_id=f"asst_plan{i:05d}", name=f"Plan {i}") for i in range(300)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE core_assistant")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT id FROM core_assistant WHERE legacy_id IN ('asst_plan00001', 'asst_plan00002')")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "trgm" not in plan, plan
        # The search still has its trigram index (on lower(name)).
        query = Assistant.objects.filter(assistant_filter("plan 1")).order_by().values("pk").query
        sql_text, params = query.sql_with_params()
        cursor.execute("EXPLAIN " + sql_text, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "core_asst_name_trgm_lower" in plan, plan
    assert Assistant.objects.filter(assistant_filter("PLAN00012")).count() == 1  # case-insensitive, as before


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_import_batches_commit_without_waiting_for_the_disk_and_only_they_do():
    before = _synchronous_commit()
    with transaction.atomic():
        sql.relaxed_commit()
        assert _synchronous_commit() == "off"
    assert _synchronous_commit() == before  # SET LOCAL: gone with the batch's transaction


@postgres_only
def test_an_import_inside_someone_elses_transaction_keeps_it_synchronous():
    """Here the test's transaction wraps everything: relaxing would make that whole transaction's commit
    asynchronous, including whatever it commits after the import."""
    before = _synchronous_commit()
    with transaction.atomic():
        sql.relaxed_commit()
        assert _synchronous_commit() == before


def test_bulk_gc_restores_the_collector_however_the_import_ends():
    thresholds = gc.get_threshold()
    with pytest.raises(RuntimeError), _bulk_gc():
        assert gc.get_threshold()[0] > thresholds[0] and gc.get_freeze_count() > 0
        raise RuntimeError("the import failed")
    assert gc.get_threshold() == thresholds and gc.get_freeze_count() == 0


@postgres_only
def test_analyze_after_a_bulk_load_samples_the_columns_the_closing_queries_use():
    from migrator.inventory.services import stats

    LegacyThread.objects.bulk_create(_threads(5))
    stats.analyze()  # names real columns of each table (a wrong one is an error, not a silent no-op)
    with connection.cursor() as cursor:
        cursor.execute("SELECT attname FROM pg_stats WHERE tablename = 'inventory_legacythread'")
        analysed = {row[0] for row in cursor.fetchall()}
    assert {"assistant_id", "flow_slug"} <= analysed and "raw" not in analysed
