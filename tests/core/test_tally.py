"""The assistant tally (migrator.core.tally) equals a GROUP BY over the assistants after every kind of write."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count, Q, Sum

from migrator.core import tally
from migrator.core.models import Assistant, AssistantTally

pytestmark = pytest.mark.django_db


def grouped() -> dict[tuple, tuple]:
    rows = (Assistant.objects.order_by().values("status", "model", "needs_review")
            .annotate(n=Count("pk"), m=Sum("message_count"), idle=Count("pk", filter=Q(message_count=0))))
    return {(r["status"], r["model"], r["needs_review"]): (r["n"], r["m"], r["idle"]) for r in rows}


def tallied() -> dict[tuple, tuple]:
    return {(r.status, r.model, r.needs_review): (r.assistants, r.messages, r.idle) for r in tally.totals()}


def make(n: int, **extra) -> list[Assistant]:
    return Assistant.objects.bulk_create([
        Assistant(legacy_id=f"asst_t{len(extra)}_{i}", model=("gpt-4o", "gpt-4.1")[i % 2], message_count=i % 3,
                  **extra) for i in range(n)])


def test_every_kind_of_write_keeps_the_tally_equal_to_the_assistants():
    make(7)
    assert tallied() == grouped() != {}
    one = Assistant.objects.get(legacy_id="asst_t0_1")
    one.status, one.message_count = "validated", 40
    one.save()  # a single-row UPDATE
    Assistant.objects.filter(model="gpt-4o").update(needs_review=True)  # a queryset UPDATE
    Assistant.objects.filter(message_count=2).update(model="gpt-5.5", message_count=0)
    Assistant.objects.filter(legacy_id="asst_t0_3").delete()
    Assistant.objects.filter(pk=one.pk).update(name="renamed")  # no watched column: nothing appended
    assert tallied() == grouped()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_assistant SET status = 'blocked' WHERE message_count = 0")  # raw SQL too
    assert tallied() == grouped()
    assert AssistantTally.objects.count() > len(grouped())


def test_compacting_folds_to_one_row_per_key_without_moving_the_totals():
    make(9)
    Assistant.objects.filter(message_count=1).update(status="migrated")
    Assistant.objects.filter(message_count=1).delete()  # a key whose rows sum to nothing disappears
    before = tallied()
    assert tally.compact() == len(before)
    assert AssistantTally.objects.count() == len(before)
    assert tallied() == before == grouped()


def test_a_reader_compacts_once_the_rows_pile_up(monkeypatch):
    monkeypatch.setattr(tally, "COMPACT_AT", 5)
    make(8)
    assert AssistantTally.objects.count() == 8
    tally.totals()
    assert AssistantTally.objects.count() == len(grouped()) < 8
    assert tallied() == grouped()


def test_missing_triggers_are_put_back_and_the_tally_rebuilt():
    """SQLite drops a table's triggers when a migration rebuilds the table: the post-migrate hook notices."""
    make(4)
    with connection.cursor() as cursor:
        names = tally._PG_NAMES if connection.vendor == "postgresql" else tally._SQLITE_NAMES
        for name in names:
            cursor.execute(f"DROP TRIGGER {name}" + (" ON core_assistant" if connection.vendor == "postgresql" else ""))
    make(3, status="blocked")  # written while no trigger counted
    assert tallied() != grouped()
    assert tally.ensure_triggers() is True
    assert tallied() == grouped()
    assert tally.ensure_triggers() is False  # all there: nothing to do
    Assistant.objects.filter(status="blocked").update(status="retired")
    assert tallied() == grouped()
