"""Backfill's write-ahead: "creating" is recorded with the plan before a conversation create is sent, so a worker
killed between the send and the answer leaves a row that says a create may have happened (and the resume counts
the possible orphan instead of silently creating a second conversation). A test that fails when it is dropped."""

from __future__ import annotations

import pytest

from migrator.backfill.models import ThreadBackfill, ThreadStatus
from migrator.backfill.services import execution
from migrator.backfill.services.runs import create_run, run_inline
from migrator.backfill.services.selection import Selection
from migrator.core.actors import system
from tests.backfill.fixtures import assert_exactly_the_plan, connect, import_threads

pytestmark = pytest.mark.django_db(transaction=True)
ACTOR = system("test:backfill", "backfill test")


def test_creating_and_the_plan_are_in_the_database_before_the_create_is_sent(sandbox_empty, tmp_path,
                                                                             monkeypatch):
    connection = connect(sandbox_empty)
    import_threads(tmp_path, [("thread_ahead0001", 3), ("thread_ahead0002", 25)])
    seen: list[tuple[str, str, int]] = []
    renew = execution.ThreadWorker._renew

    def spying_renew(worker) -> None:
        # A spy, not a stand-in: the real renewal runs, then what the database says right before the write goes
        # out is noted (a worker killed from here on leaves exactly that behind).
        renew(worker)
        row = ThreadBackfill.objects.get(pk=worker.row.pk)
        seen.append((row.thread.legacy_id, row.status, len(row.plan_items or [])))

    monkeypatch.setattr(execution.ThreadWorker, "_renew", spying_renew)
    run = run_inline(actor=ACTOR, run=create_run(actor=ACTOR, connection=connection, selection=Selection(all=True)))
    rows = list(ThreadBackfill.objects.filter(run=run).select_related("thread"))
    assert {r.status for r in rows} == {ThreadStatus.DONE}
    for row in rows:
        assert_exactly_the_plan(sandbox_empty, row)
        first = next(s for s in seen if s[0] == row.thread.legacy_id)
        # The first write of each thread is its create: "creating" and the whole plan were committed first.
        assert first[1] == ThreadStatus.CREATING and first[2] == row.item_count, first


def test_a_flow_run_records_the_release_it_was_made_for(sandbox_empty, tmp_path):
    from migrator.cutover.services.releases import working_spec
    from tests.factories import FlowFactory
    from tests.flows.factories import make_version

    connection = connect(sandbox_empty)
    import_threads(tmp_path, [("thread_rel00001", 2)], flow="billing-web")
    flow = FlowFactory(slug="billing-web", mode="conversation")
    make_version(flow.assistant, {"model": "gpt-4.1", "instructions": "Bill.", "tools": []}, approved=True)
    run = create_run(actor=ACTOR, connection=connection, selection=Selection(flow="billing-web"))
    assert run.release_hash == working_spec(flow).hash and len(run.release_hash) == 64
