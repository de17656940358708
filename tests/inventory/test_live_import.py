"""Live import, export and the connection test against the sandbox (the real SDK over HTTP)."""

from __future__ import annotations

import json
import warnings

import pytest
from django.core.management import call_command

from migrator.core.actors import SYSTEM
from migrator.core.models import Assistant, Connection, Job, JobStatus
from migrator.core.services.connections import save_connection
from migrator.core.services.jobs import start_job
from migrator.inventory.demo import seed_demo_inventory
from migrator.inventory.models import (
    LegacyFile,
    LegacyMessage,
    LegacyRun,
    LegacyThread,
    ReportedModel,
    VectorStore,
)
from migrator.inventory.models_radar import model_state
from migrator.inventory.services.imports import export_archive, import_archive, import_from_connection
from migrator.inventory.services.live import AssistantsApiGone
from migrator.sandbox.seed import asst_id, thread_id

pytestmark = pytest.mark.django_db


def _connection(sandbox, name: str = "Sandbox") -> Connection:
    return save_connection(actor=SYSTEM, name=name, base_url=sandbox.base_url, api_key=sandbox.api_key,
                           is_sandbox=True)


def _rows() -> dict:
    """Everything imported, minus where it came from (source, connection, ids and timestamps of our own)."""
    skip = {"id", "source", "connection_id", "imported_at", "last_imported_at", "updated_at", "created_at",
            "thread_id", "assistant_id", "owner_id"}

    def strip(qs, key):
        return sorted(({k: v for k, v in row.items() if k not in skip} for row in qs.values()), key=lambda r: r[key])

    return {
        "assistants": strip(Assistant.objects.all(), "legacy_id"),
        "threads": strip(LegacyThread.objects.all(), "legacy_id"),
        "messages": strip(LegacyMessage.objects.all(), "legacy_id"),
        "runs": strip(LegacyRun.objects.all(), "legacy_id"),
        "stores": strip(VectorStore.objects.all(), "legacy_id"),
        "files": strip(LegacyFile.objects.all(), "legacy_id"),
    }


def test_live_import_paginates_in_order(sandbox_empty):
    client = sandbox_empty.client()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        made = [client.beta.assistants.create(model="gpt-4o", name=f"A{i:03d}") for i in range(130)]
        thread = client.beta.threads.create()
        for i in range(150):
            client.beta.threads.messages.create(thread.id, role="user", content=f"message {i}")
    connection = _connection(sandbox_empty, "Empty sandbox")
    report = import_from_connection(connection=connection, actor=SYSTEM, thread_ids=[thread.id]).to_dict()
    assert report["errors"] == []
    assert report["assistants"]["created"] == 130 and report["messages"]["created"] == 150
    assert list(Assistant.objects.order_by("legacy_created_at", "pk").values_list("legacy_id", flat=True)) == [
        a.id for a in made]
    texts = list(LegacyMessage.objects.filter(thread__legacy_id=thread.id).order_by("position")
                 .values_list("text", flat=True))
    assert texts == [f"message {i}" for i in range(150)]
    assert ReportedModel.objects.filter(connection=connection).count() > 10


@pytest.mark.slow
def test_demo_organisation_live_then_again(sandbox):
    connection = _connection(sandbox)
    report = seed_demo_inventory(connection=connection)
    assert report["errors"] == []
    assert report["assistants"] == {"created": 32, "updated": 0, "unchanged": 0, "rejected": 0}
    assert report["threads"]["created"] == 320
    assert LegacyMessage.objects.count() == report["messages"]["created"] > 2000

    billing = Assistant.objects.get(legacy_id=asst_id("billing"))
    assert billing.connection == connection and billing.source == "Sandbox"
    assert billing.thread_count > 0 and billing.run_count > 0
    assert any(k.startswith("function:") for k in billing.tool_call_counts)
    assert Assistant.objects.order_by("-message_count").first().priority == "critical"
    long_thread = LegacyThread.objects.get(legacy_id=thread_id(7))
    assert long_thread.message_count >= 59 and long_thread.flow_slug.endswith(("-web", "-email", "-app"))
    assert long_thread.end_user_id == "cus_1007" and long_thread.tags in (["web"], ["email"], ["app"])
    positions = list(long_thread.messages.order_by("position").values_list("created_at_legacy", flat=True))
    assert positions == sorted(positions)
    handbook = VectorStore.objects.get(name="Northwind handbook")
    assert handbook.status == "completed" and handbook.file_ids
    assert LegacyFile.objects.filter(legacy_id__in=handbook.file_ids).count() == len(handbook.file_ids)
    # The sandbox's /models and the shipped catalogue agree on gpt-4-turbo's date (2026-10-23); the earliest date
    # wins and a tie names the shipped catalogue (migrator.core.model_catalog).
    assert str(model_state("gpt-4-turbo").shutdown_date) == "2026-10-23"
    assert model_state("gpt-4-turbo").source == "catalogue"
    assert model_state("gpt-4-turbo").state() == "retired"

    before = _rows()
    again = seed_demo_inventory(connection=connection)
    assert again["assistants"] == {"created": 0, "updated": 0, "unchanged": 32, "rejected": 0}
    assert again["threads"] == {"created": 0, "updated": 0, "unchanged": 320, "rejected": 0}
    assert again["messages"]["unchanged"] == report["messages"]["created"] and again["messages"]["created"] == 0
    assert _rows() == before


def test_export_reimports_with_no_loss(sandbox, tmp_path):
    connection = _connection(sandbox)
    threads = [{"thread_id": thread_id(n), "flow": f"flow-{n}", "tags": ["t"]} for n in (0, 1, 7, 33, 100)]
    out = tmp_path / "sandbox.jsonl.gz"
    result = export_archive(connection=connection, out=out, actor=SYSTEM, thread_ids=threads)
    assert result["problems"] == []
    assert result["counts"]["assistant"] == 32 and result["counts"]["thread"] == 5
    assert result["counts"]["step"] > 0 and result["counts"]["vector_store"] == 2

    report = import_archive(path=out, actor=SYSTEM).to_dict()
    assert report["errors"] == [] and report["threads"]["created"] == 5
    from_archive = _rows()
    live = import_from_connection(connection=connection, actor=SYSTEM, thread_ids=threads).to_dict()
    # The live import of the same objects finds nothing new and nothing changed.
    assert live["assistants"] == {"created": 0, "updated": 0, "unchanged": 32, "rejected": 0}
    assert live["threads"] == {"created": 0, "updated": 0, "unchanged": 5, "rejected": 0}
    assert live["messages"]["created"] == 0 and live["messages"]["updated"] == 0
    assert _rows() == from_archive


def test_a_gone_assistants_api_says_use_an_archive(make_sandbox, tmp_path):
    gone = make_sandbox(assistants_api=False)
    connection = _connection(gone, "Old production")
    with pytest.raises(AssistantsApiGone) as caught:
        import_from_connection(connection=connection, actor=SYSTEM, thread_ids=["thread_x"])
    message = str(caught.value)
    assert "Assistants API is gone" in message and "export archive" in message and "HTTP 404" in message
    connection.refresh_from_db()
    assert connection.answers["assistants"] is False
    assert not Assistant.objects.exists()
    with pytest.raises(AssistantsApiGone):
        export_archive(connection=connection, out=tmp_path / "x.jsonl", actor=SYSTEM)


def test_missing_threads_are_rejected_and_the_rest_imports(sandbox):
    connection = _connection(sandbox)
    report = import_from_connection(connection=connection, actor=SYSTEM,
                                    thread_ids=[thread_id(2), "thread_doesnotexist"])
    (error,) = report.to_dict()["errors"]
    assert error["where"] == "thread thread_doesnotexist" and "HTTP 404" in error["message"]
    assert report.counts["threads"] == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 1}
    assert not report.ok


def test_connection_test_job(sandbox, make_sandbox, run_queued_jobs, engineer):
    good = _connection(sandbox)
    gone = _connection(make_sandbox(assistants_api=False), "Gone")
    for connection in (good, gone):
        start_job(kind="inventory.test_connection", actor=engineer, params={"connection_id": connection.pk},
                  subject=connection)
    jobs = run_queued_jobs()
    assert [j.status for j in jobs] == [JobStatus.SUCCEEDED, JobStatus.SUCCEEDED]
    good.refresh_from_db()
    gone.refresh_from_db()
    assert good.answers == {"models": True, "assistants": True, "responses": True, "conversations": True}
    assert good.last_tested_at is not None and good.last_test_error == ""
    assert gone.answers == {"models": True, "assistants": False, "responses": True, "conversations": True}
    assert gone.assistants_api_gone
    detail = jobs[1].result["details"]["assistants"]["detail"]
    assert detail.startswith("gone:") and "export archive" in detail
    assert jobs[1].result["assistants_api_gone"] is True
    assert "assistants: does not answer" in Job.objects.get(pk=jobs[1].pk).log


def test_commands_import_and_export(sandbox, tmp_path, capsys):
    _connection(sandbox)
    ids = tmp_path / "threads.csv"
    ids.write_text(f"thread_id,flow,end_user_id,tags\n{thread_id(3)},support-web,cus_9,vip;eu\n")
    call_command("import_assistants", "--connection", "Sandbox", "--thread-ids", str(ids), "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["assistants"]["created"] == 32 and report["threads"]["created"] == 1
    thread = LegacyThread.objects.get(legacy_id=thread_id(3))
    assert (thread.flow_slug, thread.end_user_id, thread.tags) == ("support-web", "cus_9", ["vip", "eu"])

    out = tmp_path / "out.jsonl"
    call_command("export_assistants", "--connection", "Sandbox", "--thread-ids", str(ids), "--out", str(out))
    assert "Wrote" in capsys.readouterr().out
    first = json.loads(out.read_text().splitlines()[0])
    assert first["object"] == "migrator.archive" and first["format_version"] == 1

    call_command("import_assistants", "--archive", str(out), "--json")
    again = json.loads(capsys.readouterr().out)
    assert again["assistants"]["unchanged"] == 32 and again["threads"]["unchanged"] == 1
