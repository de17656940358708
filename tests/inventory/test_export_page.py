"""The Export page and ``manage.py export_assistants --json``: one service writes the archive, the job page offers
the download, the archive imports back, and the audit log says who exported (against a real sandbox)."""

from __future__ import annotations

import gzip
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from migrator.core.actors import SYSTEM
from migrator.core.models import AuditEvent, JobStatus
from migrator.core.services.connections import save_connection
from migrator.inventory.services.exports import EXPORT_KIND, archive_path
from migrator.inventory.services.imports import import_archive
from migrator.sandbox.seed import thread_id
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


def _connection(sandbox, name: str = "Sandbox"):
    return save_connection(actor=SYSTEM, name=name, base_url=sandbox.base_url, api_key=sandbox.api_key,
                           is_sandbox=True)


@pytest.mark.slow  # exports the demo organisation's 32 assistants and reads the archive back
def test_export_on_the_page_then_download_and_import_it(client, sandbox, engineer, run_queued_jobs, tmp_path):
    connection = _connection(sandbox, "Export sandbox")
    client.force_login(engineer)
    page = client.get(reverse("inventory:export"))
    assert page.status_code == 200 and b'data-testid="export-form"' in page.content
    response = client.post(reverse("inventory:export"), {"connection": connection.pk,
                                                         "thread_text": f"thread_id,flow\n{thread_id(3)},web\n"})
    assert response.status_code == 302
    [job] = run_queued_jobs()
    assert job.kind == EXPORT_KIND and job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["counts"]["assistant"] == 32 and job.result["counts"]["thread"] == 1
    assert job.result["summary"].startswith("32 assistants") and job.result["problems"] == []

    report = client.get(job.get_absolute_url()).content.decode()
    assert 'data-testid="export-summary"' in report and "32 assistants" in report
    assert reverse("inventory:export_download", args=[job.pk]) in report
    download = client.get(reverse("inventory:export_download", args=[job.pk]))
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert f"export-sandbox-{job.pk}.jsonl.gz" in download["Content-Disposition"]
    archive = tmp_path / "downloaded.jsonl.gz"
    archive.write_bytes(b"".join(download.streaming_content))
    first = json.loads(gzip.decompress(archive.read_bytes()).splitlines()[0])
    assert first["object"] == "migrator.archive"
    back = import_archive(path=archive, actor=SYSTEM).to_dict()
    assert back["errors"] == [] and back["threads"]["created"] == 1

    event = AuditEvent.objects.get(verb="migrator.inventory.exported")
    assert event.actor_label == engineer.username and event.data["counts"]["assistant"] == 32
    listing = client.get(reverse("inventory:export")).content.decode()
    assert 'data-testid="recent-exports"' in listing and f"#{job.pk}" in listing

    # The command: the same service, one JSON object, audited as the command.
    out = StringIO()
    target = tmp_path / "cli.jsonl"
    call_command("export_assistants", "--connection", connection.name, "--out", str(target), "--json", stdout=out)
    body = json.loads(out.getvalue())
    assert body["out"] == str(target) and body["counts"]["assistant"] == 32 and body["problems"] == []
    assert body["summary"].startswith("32 assistants") and target.exists()
    assert AuditEvent.objects.filter(verb="migrator.inventory.exported", actor_label="the export_assistants command",
                                     ).exists()


def test_export_refusals(client, product_owner, engineer, admin_user):
    production = ConnectionFactory(name="Production")
    client.force_login(product_owner)
    assert client.get(reverse("inventory:export")).status_code == 200  # may read it, not export
    assert client.post(reverse("inventory:export"), {"connection": production.pk}).status_code == 403
    client.force_login(engineer)
    gone = ConnectionFactory(name="Old", answers={"assistants": False})
    response = client.post(reverse("inventory:export"), {"connection": gone.pk})
    assert response.status_code == 422 and "no Assistants API" in response.content.decode()
    # A download that does not exist (no such job, or not an export) is a 404, never a file from elsewhere.
    assert client.get(reverse("inventory:export_download", args=[987654])).status_code == 404
    archive_path(987654).unlink(missing_ok=True)
