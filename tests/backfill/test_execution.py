"""Exactly-once execution against the real sandbox over HTTP, with lost answers and 429s injected."""

from __future__ import annotations

import math

import pytest

from migrator.backfill.models import BackfillRun, RunStatus, ThreadBackfill, ThreadStatus
from migrator.backfill.services.runs import create_run, run_inline
from migrator.backfill.services.selection import Selection
from migrator.core.actors import system
from migrator.inventory.models import LegacyMessage
from tests.backfill.fixtures import assert_exactly_the_plan, connect, import_threads

pytestmark = pytest.mark.django_db(transaction=True)

ACTOR = system("test:backfill", "backfill test")


def test_lost_answers_and_429s_every_thread_complete_without_duplicates(make_sandbox, tmp_path, settings):
    settings.BACKFILL_CALL_TIMEOUT_SECONDS = 10
    box = make_sandbox(lost_rate=0.10, throttle_rate=0.05, seed_random=11)
    connection = connect(box)
    # About 160 calls: at 5% the chance that not one is throttled is 0.03% (with 80 calls it was 1.6%, and the
    # order of calls, hence the seeded draws, is not fixed). The last assertion proves the faults happened.
    specs = [(f"thread_fault{n:03d}", turns) for n, turns in enumerate([1, 3, 9, 10, 11, 19, 25, 2, 14, 30] * 6)]
    import_threads(tmp_path, specs)
    run = create_run(actor=ACTOR, connection=connection, selection=Selection(all=True))
    run = run_inline(actor=ACTOR, run=run)
    assert run.status == RunStatus.FINISHED
    rows = list(ThreadBackfill.objects.filter(run=run).select_related("thread"))
    assert len(rows) == len(specs)
    assert {r.status for r in rows} == {ThreadStatus.DONE}
    for row in rows:
        assert_exactly_the_plan(box, row)
        assert row.writes == math.ceil(row.item_count / 20)  # committed writes to the conversation
    assert run.rate_limited > 0 and run.recoveries > 0  # the faults really happened
    assert run.orphans == sum(r.orphans for r in rows)


def test_a_rerun_writes_nothing_and_malformed_threads_fail_alone(make_sandbox, tmp_path):
    box = make_sandbox()
    connection = connect(box)
    import_threads(tmp_path, [("thread_good0001", 4), ("thread_good0002", 2), ("thread_bad00001", 3)])
    LegacyMessage.objects.filter(thread__legacy_id="thread_bad00001", position=1).update(content={"broken": True})
    run = run_inline(actor=ACTOR, run=create_run(actor=ACTOR, connection=connection, selection=Selection(all=True)))
    rows = {r.thread.legacy_id: r for r in ThreadBackfill.objects.filter(run=run).select_related("thread")}
    assert rows["thread_bad00001"].status == ThreadStatus.FAILED
    assert rows["thread_bad00001"].reason == "message msg_bad00001_001: content is dict, not a list of parts"
    assert rows["thread_good0001"].status == rows["thread_good0002"].status == ThreadStatus.DONE
    calls_before = run.calls

    again = create_run(actor=ACTOR, connection=connection, selection=Selection(all=True, include_done=True))
    assert again.thread_count == 1  # only the failed one is taken again; done threads are never rewritten
    again = run_inline(actor=ACTOR, run=again)
    assert again.writes == 0 and again.calls == 0
    assert BackfillRun.objects.get(pk=run.pk).calls == calls_before


def test_pause_stops_between_threads_and_resume_finishes(sandbox_empty, tmp_path, engineer):
    from migrator.backfill.services.runs import (
        pause_run,
        process_rows,
        resume_run,
        start_run,
        unfinished_row_ids,
    )
    from migrator.core.services import InvalidTransition

    connection = connect(sandbox_empty)
    import_threads(tmp_path, [(f"thread_pause{n:03d}", 2) for n in range(5)])
    run = start_run(actor=engineer, run=create_run(actor=engineer, connection=connection, selection=Selection(all=True)))
    ids = unfinished_row_ids(run)
    pause_run(actor=engineer, run=run)
    assert process_rows(run_id=run.pk, row_ids=ids, owner="test") == {"stopped": 1}
    assert set(ThreadBackfill.objects.filter(run=run).values_list("status", flat=True)) == {ThreadStatus.PENDING}
    with pytest.raises(InvalidTransition):
        pause_run(actor=engineer, run=BackfillRun.objects.get(pk=run.pk))
    resume_run(actor=engineer, run=run)
    process_rows(run_id=run.pk, row_ids=ids, owner="test")
    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED and run.items_sent == 5 * 6
    assert set(ThreadBackfill.objects.filter(run=run).values_list("status", flat=True)) == {ThreadStatus.DONE}
