"""The one model catalogue: the file merged with each connection's /models (the real sandbox over HTTP), the
exact `manage.py models sync --json` contract, and notices (inbox item + webhook) naming the affected flows."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from django.core.management import call_command
from django.utils import timezone

from migrator.core import model_catalog
from migrator.core.models import Job, JobStatus
from migrator.core.services import ServiceError
from migrator.core.services.jobs import execute_job
from migrator.inventory.models import ReportedModel
from migrator.retirement.models import CatalogueEntry, CatalogueNotice, NoticeKind
from migrator.retirement.services import catalogue
from migrator.webhooks import services as webhooks
from tests.factories import AssistantFactory, FlowFactory
from tests.flows.factories import make_version, sandbox_connection


def _sync_json(*args: str) -> dict:
    out = io.StringIO()
    call_command("models", "sync", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def _catalogue_copy(tmp_path, settings, **successors: str):
    """A copy of the shipped file with some groups' successors replaced (as a catalogue update would)."""
    doc = json.loads(model_catalog.SHIPPED_FILE.read_text())
    for group in doc["groups"]:
        for model, successor in successors.items():
            if model in group["models"]:
                group["successor"] = {"model": successor, "source": "OpenAI email to the account", "seen": "2026-12-07"}
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(doc))
    settings.MODEL_CATALOGUE_FILE = str(path)
    return path


@pytest.mark.django_db
def test_sync_reads_each_connection_and_prints_the_exact_contract(sandbox):
    sandbox.reset("demo")
    sandbox_connection(sandbox, "Sandbox")
    doc = _sync_json("--connection", "Sandbox")
    assert list(doc) == ["models"]
    rows = {m["id"]: m for m in doc["models"]}
    assert all(list(m) == ["id", "shutdown_date", "successor", "source", "seen_at"] for m in doc["models"])
    assert rows["gpt-4.1"]["shutdown_date"] == "2027-01-14" and rows["gpt-4.1"]["successor"] == "gpt-6-luna"
    assert rows["gpt-5"]["shutdown_date"] == "2026-12-11" and rows["gpt-5"]["successor"] == "gpt-6.1-sol"
    assert rows["gpt-6-luna"]["shutdown_date"] is None
    assert ReportedModel.objects.filter(connection__name="Sandbox", model_id="gpt-4.1").exists()
    # The first sync is the baseline: nothing is news yet.
    assert not CatalogueNotice.objects.exists()
    with pytest.raises(Exception, match="No connection named 'Nope'"):
        _sync_json("--connection", "Nope")


@pytest.mark.django_db(transaction=True)
def test_a_changed_successor_notifies_inbox_webhook_and_dashboard_naming_each_flow(
        tmp_path, settings, engineer, client, receiver):
    assistant = AssistantFactory(model="gpt-4.1")
    make_version(assistant, {"model": "gpt-4.1", "instructions": "Help."}, approved=True)
    FlowFactory(assistant=assistant, slug="orders", name="Orders")
    FlowFactory(assistant=assistant, slug="returns", name="Returns")
    other = AssistantFactory(model="gpt-5.5")
    FlowFactory(assistant=other, slug="unaffected")
    webhooks.create_endpoint(actor=engineer, name="relay", url=receiver.url, events=["models.catalogue_changed"])
    catalogue.sync(actor=catalogue.SYNC_ACTOR, refresh=False)  # baseline
    assert not CatalogueNotice.objects.exists()

    _catalogue_copy(tmp_path, settings, **{"gpt-4.1": "gpt-6.1-terra"})
    result = catalogue.sync(actor=catalogue.SYNC_ACTOR, refresh=False)
    [notice] = [n for n in result.notices if n.model_id == "gpt-4.1"]
    assert notice.kind == NoticeKind.SUCCESSOR_CHANGED
    assert (notice.before, notice.after) == ("gpt-6-luna", "gpt-6.1-terra")
    assert [f["slug"] for f in notice.flows] == ["orders", "returns"]
    assert model_catalog.lookup("gpt-4.1").successor == "gpt-6.1-terra"  # every part asks the one catalogue

    for job_id in Job.objects.filter(kind=webhooks.JOB_KIND, status=JobStatus.QUEUED).values_list("id", flat=True):
        execute_job(job_id)
    bodies = [json.loads(r.body) for r in receiver.requests]
    [body] = [b for b in bodies if b["data"]["model"] == "gpt-4.1"]
    assert body["type"] == "models.catalogue_changed" and body["actor"] == "the daily model catalogue sync"
    assert [f["slug"] for f in body["data"]["flows"]] == ["orders", "returns"]
    assert body["data"]["before"] == "gpt-6-luna" and body["data"]["after"] == "gpt-6.1-terra"

    client.force_login(engineer)
    page = client.get("/models/notices/").content.decode()
    assert "gpt-4.1: named successor changed from gpt-6-luna to gpt-6.1-terra" in page and "Orders" in page
    dashboard = client.get("/").content.decode()
    assert "model catalogue notice" in dashboard and "gpt-6.1-terra" in dashboard and "Returns" in dashboard

    # Syncing again with nothing new says nothing new; acknowledging empties the inbox.
    assert catalogue.sync(actor=catalogue.SYNC_ACTOR, refresh=False).notices == []
    catalogue.acknowledge(notice_id=notice.pk, actor=engineer)
    assert not catalogue.open_notices().filter(pk=notice.pk).exists()


@pytest.mark.django_db
def test_an_earlier_date_from_a_connection_wins_and_is_news(engineer, sandbox):
    connection = sandbox_connection(sandbox, "Prod")
    assistant = AssistantFactory(model="gpt-5.4")
    FlowFactory(assistant=assistant, slug="search")
    catalogue.sync(actor=catalogue.SYNC_ACTOR, refresh=False)
    assert model_catalog.lookup("gpt-5.4").shutdown_date is None
    # The connection's /models now announces a date for a model the file calls current.
    ReportedModel.objects.create(connection=connection, model_id="gpt-5.4", shutdown_date=date(2027, 3, 1),
                                 seen_at=timezone.now())
    result = catalogue.sync(actor=catalogue.SYNC_ACTOR, refresh=False)
    [notice] = result.notices
    assert notice.kind == NoticeKind.NEW_SHUTDOWN and notice.after == "2027-03-01"
    assert [f["slug"] for f in notice.flows] == ["search"]
    info = model_catalog.lookup("gpt-5.4")
    assert info.shutdown_date == date(2027, 3, 1) and info.source == "connection:Prod"
    entry = CatalogueEntry.objects.get(model_id="gpt-5.4")
    assert entry.source == "connection:Prod"
    # A later date from a connection never postpones the file's earlier one.
    ReportedModel.objects.create(connection=connection, model_id="gpt-4.1", shutdown_date=date(2027, 6, 1),
                                 seen_at=timezone.now())
    assert model_catalog.lookup("gpt-4.1").shutdown_date == date(2027, 1, 14)


@pytest.mark.django_db
def test_a_broken_catalogue_file_is_refused_with_where(tmp_path, settings):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"groups": [{"shutdown_date": "2027-13-01", "models": ["x"], "successor": {}}]}))
    settings.MODEL_CATALOGUE_FILE = str(path)
    with pytest.raises(ServiceError, match=r"groups\[0\]"):
        catalogue.sync(actor=catalogue.SYNC_ACTOR, refresh=False)
    path.write_text(json.dumps({"groups": [{"shutdown_date": "2027-01-01", "models": ["x"],
                                            "successor": {"model": "y"}}]}))
    with pytest.raises(ServiceError, match="needs its source and the date it was seen"):
        catalogue.sync(actor=catalogue.SYNC_ACTOR, refresh=False)


def test_the_sync_actor_may_sync_and_nothing_else():
    actor = catalogue.SYNC_ACTOR
    assert actor.has_perm("retirement.sync_catalogue")
    assert not actor.has_perm("cutover.approve_cutover") and not actor.has_perm("prompts.edit_prompt")


@pytest.mark.django_db
def test_the_daily_beat_task_runs_the_sync_as_a_job_under_the_sync_actor(sandbox):
    from migrator.celery import app
    from migrator.retirement.tasks import daily_sync

    app.loader.import_default_modules()
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in app.tasks, entry
    sandbox_connection(sandbox, "Sandbox")
    daily_sync()
    job = Job.objects.get(kind="retirement.sync_models")
    execute_job(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["connections"] == {"Sandbox": f"{job.result['connections']['Sandbox'].split()[0]} models"}
    assert CatalogueEntry.objects.filter(model_id="gpt-4.1").exists()
