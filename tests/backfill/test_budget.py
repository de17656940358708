"""Cost control for a backfill (real sandbox over HTTP): the projection is stored before the run starts (price
unknown: the Conversations API's writes have no price in the table), a budget of API calls stops the run cleanly
"budget reached" with every thread carried kept and the rest pending, and a resume with a new budget finishes it
without writing any thread twice."""

from __future__ import annotations

import pytest

from migrator.backfill.models import RunStatus, ThreadBackfill, ThreadStatus
from migrator.backfill.services import runs
from migrator.backfill.services.selection import Selection
from migrator.core.actors import system
from migrator.core.services import ServiceError
from tests.backfill.fixtures import assert_exactly_the_plan, connect, import_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ACTOR = system("test:backfill", "backfill test")


def test_a_call_budget_stops_cleanly_and_a_resume_finishes_without_duplicates(sandbox_empty, tmp_path, settings):
    settings.BACKFILL_THREADS_PER_JOB = 1  # one thread at a time, so the stop lands between threads
    connection = connect(sandbox_empty)
    specs = [(f"thread_budget{n:03d}", 3) for n in range(8)]
    import_threads(tmp_path, specs)
    run = runs.create_run(actor=ACTOR, connection=connection, selection=Selection(all=True), budget_calls="3")
    plan = run.projection
    assert plan["requests"] == run.planned_calls > 0 and plan["items"] == run.planned_items
    assert plan["input_tokens"] > 0 and plan["cost_usd"] is None and plan["price"] == "unknown"
    run = runs.run_inline(actor=ACTOR, run=run)
    assert run.status == RunStatus.BUDGET_REACHED and run.calls >= 3
    rows = list(ThreadBackfill.objects.filter(run=run))
    done = [r for r in rows if r.status == ThreadStatus.DONE]
    assert 0 < len(done) < len(specs)
    assert {r.status for r in rows} <= {ThreadStatus.DONE, ThreadStatus.PENDING}  # nothing half-written, none lost
    with pytest.raises(ServiceError, match="number of API calls"):
        runs.set_budget(actor=ACTOR, run=run, budget_calls="lots")
    run = runs.set_budget(actor=ACTOR, run=run, budget_calls=None)
    run = runs.run_inline(actor=ACTOR, run=run)
    assert run.status == RunStatus.FINISHED
    assert {r.status for r in ThreadBackfill.objects.filter(run=run)} == {ThreadStatus.DONE}
    for row in ThreadBackfill.objects.filter(run=run).select_related("thread"):
        assert_exactly_the_plan(sandbox_empty, row)  # each conversation holds its plan once, no duplicate


@pytest.mark.parametrize("bad", ["0", "-3", "many"])
def test_a_bad_call_budget_is_refused(sandbox_empty, bad):
    with pytest.raises(ServiceError, match="Budget"):
        runs.create_run(actor=ACTOR, connection=connect(sandbox_empty), selection=Selection(all=True),
                        budget_calls=bad)


def test_the_run_page_shows_the_projection_and_resumes_with_a_new_budget(sandbox_empty, tmp_path, settings, client,
                                                                        engineer):
    settings.BACKFILL_THREADS_PER_JOB = 1
    connection = connect(sandbox_empty)
    import_threads(tmp_path, [(f"thread_page{n:03d}", 2) for n in range(4)])
    run = runs.run_inline(actor=ACTOR, run=runs.create_run(actor=ACTOR, connection=connection,
                                                           selection=Selection(all=True), budget_calls=1))
    assert run.status == RunStatus.BUDGET_REACHED
    client.force_login(engineer)
    page = client.get(run.get_absolute_url()).content.decode()
    assert 'data-testid="backfill-cost">Projected before it started' in page and "price unknown" in page
    assert 'data-testid="budget-reached"' in page and "1-call</strong> budget" in page
    response = client.post(f"/backfill/runs/{run.pk}/resume/", {"budget_calls": ""})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and run.budget_calls is None and run.job_id
