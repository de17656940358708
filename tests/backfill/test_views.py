"""The backfill pages and the production API's thread lookup, for an engineer and read-only roles."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.urls import reverse

from migrator.backfill.models import BackfillRun, RunStatus, ThreadBackfill, ThreadStatus
from migrator.backfill.services import coverage
from migrator.backfill.services.runs import create_run, run_inline
from migrator.backfill.services.selection import Selection
from migrator.core.models import AuditEvent
from migrator.flows.services import tokens as token_services
from tests.backfill.fixtures import connect, import_threads

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def backfilled(sandbox_empty, tmp_path, engineer):
    import_threads(tmp_path, [("thread_view0001", 3), ("thread_view0002", 25)])
    import_threads(tmp_path, [("thread_else0001", 2)], flow="other-web")
    connection = connect(sandbox_empty)
    run = run_inline(actor=engineer, run=create_run(actor=engineer, connection=connection,
                                                    selection=Selection(flow="billing-web")))
    return {"connection": connection, "run": run, "sandbox": sandbox_empty}


def test_selection_estimate_and_plan_pages(client, engineer, sandbox_empty, tmp_path):
    import_threads(tmp_path, [("thread_plan0001", 3), ("thread_plan0002", 12)])
    connection = connect(sandbox_empty)
    client.force_login(engineer)
    query = f"connection={connection.pk}&scope=flow&flow=billing-web&markers=strip&hosted_tools=note"
    page = client.get(reverse("backfill:new") + "?" + query)
    assert page.status_code == 200 and 'data-testid="estimate-threads">2<' in page.content.decode()
    fragment = client.get(reverse("backfill:estimate") + f"?connection={connection.pk}&scope=flow&flow=nope",
                          HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    # The flow is a search box now (no list of every slug to choose from): an unknown slug is named in the answer.
    assert "There is no flow &#x27;nope&#x27; and no imported thread names it." in fragment.content.decode()
    plan = client.get(reverse("backfill:plan") + "?" + query)
    body = plan.content.decode()
    assert plan.status_code == 200 and 'data-testid="start-run"' in body and "thread_plan0002" in body
    assert not ThreadBackfill.objects.exists()  # the plan page stores and sends nothing
    bad = client.get(reverse("backfill:plan") + f"?connection={connection.pk}&scope=threads&thread_ids=")
    assert bad.status_code == 400 and "Enter thread ids." in bad.content.decode()


def test_read_only_roles_see_but_cannot_run(client, product_owner, backfilled):
    client.force_login(product_owner)
    run = backfilled["run"]
    assert client.get(reverse("backfill:run_list")).status_code == 200
    detail = client.get(run.get_absolute_url()).content.decode()
    assert "Roll back the run" not in detail and 'data-testid="pause"' not in detail
    query = f"connection={backfilled['connection'].pk}&scope=all&markers=strip&hosted_tools=note"
    assert client.post(reverse("backfill:run_create") + "?" + query).status_code == 403
    row = ThreadBackfill.objects.filter(run=run).first()
    assert client.post(reverse("backfill:thread_rollback", args=[row.pk])).status_code == 403
    assert ThreadBackfill.objects.get(pk=row.pk).status == ThreadStatus.DONE


def test_run_page_progress_stops_polling_and_thread_viewer_and_rollback(client, engineer, backfilled):
    client.force_login(engineer)
    run = backfilled["run"]
    assert run.status == RunStatus.FINISHED
    live = client.get(reverse("backfill:run_progress", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert live.status_code == 286  # finished: htmx stops polling
    row = ThreadBackfill.objects.get(thread__legacy_id="thread_view0002")
    viewer = client.get(row.get_absolute_url()).content.decode()
    assert row.conversation_id in viewer and viewer.count('data-testid="conversation-item"') == row.item_count
    assert "answer 24" in viewer  # the legacy side
    response = client.post(reverse("backfill:thread_rollback", args=[row.pk]), follow=True)
    assert f"Rolled back: {row.item_count} item(s)" in response.content.decode()
    row.refresh_from_db()
    assert row.status == ThreadStatus.ROLLED_BACK and row.conversation_id == ""
    assert AuditEvent.objects.filter(verb="migrator.backfill.thread_rolled_back", object_id=str(row.pk)).exists()
    assert coverage("billing-web") == {"selected": 1, "done": 1, "failed": 0, "skipped": 0, "pending": 0,
                                       "rolled_back": 1, "threads": 2}


def test_mapping_downloads(client, engineer, backfilled):
    client.force_login(engineer)
    response = client.get(reverse("backfill:mapping", args=["csv"]) + f"?run={backfilled['run'].pk}")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["thread_id"] for r in rows] == ["thread_view0001", "thread_view0002"]
    assert all(r["conversation_id"].startswith("conv_") and r["status"] == "done" for r in rows)
    lines = b"".join(client.get(reverse("backfill:mapping", args=["jsonl"])).streaming_content).decode().splitlines()
    assert json.loads(lines[0])["items"] == 8
    assert client.get(reverse("backfill:mapping", args=["xml"])).status_code == 404


def test_api_thread_lookup(client, engineer, backfilled):
    _, plaintext = token_services.create_token(actor=engineer, name="app", consumer="web")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}
    row = ThreadBackfill.objects.get(thread__legacy_id="thread_view0001")
    found = client.get("/api/v1/threads/thread_view0001", **auth)
    assert found.status_code == 200
    assert found.json() == {"thread_id": "thread_view0001", "conversation_id": row.conversation_id,
                            "flow": "billing-web", "status": "done", "items": 8, "connection": "Target"}
    other = client.get("/api/v1/threads/thread_else0001", **auth).json()
    assert other["status"] == "not_backfilled" and other["conversation_id"] is None
    assert client.get("/api/v1/threads/thread_nope", **auth).json()["error"]["code"] == "thread_not_found"
    assert client.get("/api/v1/threads/thread_view0001").status_code == 401
    assert BackfillRun.objects.count() == 1
    # The page door gives the same answer the API does.
    client.force_login(engineer)
    page = client.get(reverse("backfill:thread_lookup"), {"thread": "thread_view0001"}).content.decode()
    assert row.conversation_id in page and 'data-testid="thread-status">Done<' in page and "billing-web" in page
    other_page = client.get(reverse("backfill:thread_lookup"), {"thread": "thread_else0001"}).content.decode()
    assert "Not backfilled" in other_page and "none yet" in other_page
    missing = client.get(reverse("backfill:thread_lookup"), {"thread": "thread_nope"}).content.decode()
    assert 'data-testid="thread-not-found"' in missing
    assert 'data-testid="thread-lookup"' in client.get(reverse("backfill:run_list")).content.decode()


def test_rolling_back_a_thread_whose_conversation_is_gone_ends_the_mapping_instead_of_a_500(client, engineer,
                                                                                          backfilled):
    """Issue 21, finding 9: the conversation was deleted elsewhere; production must stop being pointed at it."""
    row = ThreadBackfill.objects.get(thread__legacy_id="thread_view0001")
    gone = row.conversation_id
    backfilled["sandbox"].client().conversations.delete(gone)
    client.force_login(engineer)
    response = client.post(reverse("backfill:thread_rollback", args=[row.pk]), follow=True)
    assert response.status_code == 200 and "Rolled back" in response.content.decode()
    row.refresh_from_db()
    assert row.status == ThreadStatus.ROLLED_BACK and row.conversation_id == ""
    assert row.reason == f"rolled back: {gone} was already gone"
    _, raw = token_services.create_token(actor=engineer, name="prod", consumer="web")
    answer = client.get("/api/v1/threads/thread_view0001", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert answer["status"] == "rolled_back" and answer["conversation_id"] is None


def test_a_run_rollback_that_leaves_threads_fails_saying_which_and_a_second_rollback_finishes_them(
        client, engineer, backfilled, run_queued_jobs):
    from datetime import timedelta

    from django.utils import timezone

    from migrator.core.models import Job, JobStatus

    run = backfilled["run"]
    held = ThreadBackfill.objects.get(thread__legacy_id="thread_view0002")
    ThreadBackfill.objects.filter(pk=held.pk).update(lease_token="w:1", lease_until=timezone.now() + timedelta(hours=1))
    client.force_login(engineer)
    client.post(reverse("backfill:run_action", args=[run.pk, "rollback"]))
    [job] = run_queued_jobs()
    assert job.status == JobStatus.FAILED
    assert "1 thread(s) rolled back, 1 not: thread_view0002 (a worker is writing it right now" in job.error
    ThreadBackfill.objects.filter(pk=held.pk).update(lease_token="", lease_until=None)
    client.post(reverse("backfill:run_action", args=[run.pk, "rollback"]))
    [again] = [j for j in run_queued_jobs() if j.kind == "backfill.rollback"]
    assert again.status == JobStatus.SUCCEEDED and again.result["rolled_back"] == 1
    assert set(ThreadBackfill.objects.filter(run=run).values_list("status", flat=True)) == {ThreadStatus.ROLLED_BACK}
    assert Job.objects.filter(kind="backfill.rollback").count() == 2


def test_a_flow_limited_token_gets_one_answer_for_unknown_and_other_flows_threads(client, engineer, backfilled):
    """Issue 21, finding 11: 404 for an unknown thread but 403 for another flow's was an oracle on thread ids."""
    from migrator.core.models import Flow
    from tests.factories import FlowFactory

    flow = Flow.objects.filter(slug="billing-web").first() or FlowFactory(slug="billing-web")
    _, plaintext = token_services.create_token(actor=engineer, name="billing", consumer="web", flow_ids=[flow.pk])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}
    assert client.get("/api/v1/threads/thread_view0001", **auth).status_code == 200
    other = client.get("/api/v1/threads/thread_else0001", **auth)
    unknown = client.get("/api/v1/threads/thread_nope0001", **auth)
    assert other.status_code == unknown.status_code == 403
    assert other.json() == unknown.json()
