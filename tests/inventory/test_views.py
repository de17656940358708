"""Inventory pages: permissions (403 / login), forms with field errors, and what the pages show."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from migrator.core.models import Assistant, AuditEvent, Connection, Job, JobStatus
from migrator.core.status import Priority
from migrator.inventory.models import AssistantRevision
from migrator.inventory.services.imports import import_archive
from tests.factories import PASSWORD, AssistantFactory, ConnectionFactory
from tests.inventory import archives as a

pytestmark = pytest.mark.django_db


def login(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def estate(tmp_path, engineer):
    objs = [a.assistant("asst_big", name="Big", model="gpt-3.5-turbo"), a.assistant("asst_small", name="Small")]
    objs += a.conversation("thread_1", "asst_big", turns=4) + a.conversation("thread_2", "asst_small", turns=1)
    objs.append({"object": "migrator.thread_info", "thread_id": "thread_1", "flow": "billing-web"})
    import_archive(path=a.write_jsonl(tmp_path / "e.jsonl", objs), actor=engineer)
    changed = a.assistant("asst_big", name="Big", model="gpt-3.5-turbo", instructions="Line one\nLine two changed")
    import_archive(path=a.write_jsonl(tmp_path / "f.jsonl", [changed]), actor=engineer)
    return Assistant.objects.get(legacy_id="asst_big")


PAGES = ["inventory:connection_list", "inventory:connection_add", "inventory:import", "inventory:usage",
         "inventory:model_radar"]


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_users_are_sent_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_readers_see_pages_but_cannot_change_anything(client, product_owner, estate):
    connection = ConnectionFactory()
    login(client, product_owner)
    for name in ("inventory:connection_list", "inventory:import", "inventory:usage", "inventory:model_radar"):
        assert client.get(reverse(name)).status_code == 200
    assert client.get(reverse("inventory:assistant_usage", args=[estate.pk])).status_code == 200
    assert client.get(reverse("inventory:connection_add")).status_code == 403
    assert client.post(reverse("inventory:connection_add"), {"name": "x"}).status_code == 403
    assert client.get(reverse("inventory:connection_edit", args=[connection.pk])).status_code == 403
    assert client.post(reverse("inventory:connection_test", args=[connection.pk])).status_code == 403
    upload = SimpleUploadedFile("a.jsonl", b'{"object": "assistant"}\n')
    assert client.post(reverse("inventory:import"), {"source": "archive", "archive": upload}).status_code == 403
    assert client.post(reverse("inventory:import"), {"source": "live", "connection": connection.pk}).status_code == 403
    page = client.get(reverse("inventory:import")).content.decode()
    assert 'data-testid="archive-form"' not in page and "importing is for Engineers" in page
    assert not Job.objects.exists()


def test_support_lead_cannot_set_priority(client, support_lead, estate):
    login(client, support_lead)
    url = reverse("inventory:assistant_usage", args=[estate.pk])
    assert 'data-testid="business-form"' not in client.get(url).content.decode()
    assert client.post(url, {"priority": "critical"}).status_code == 403
    estate.refresh_from_db()
    assert not estate.priority_overridden


def test_connection_form_errors_and_saving(client, engineer):
    login(client, engineer)
    url = reverse("inventory:connection_add")
    response = client.post(url, {"name": "", "base_url": "not a url", "api_key": ""})
    assert response.status_code == 422
    form = response.context["form"]
    assert set(form.errors) == {"name", "base_url", "api_key"}
    response = client.post(url, {"name": "Prod", "base_url": "https://api.example.com/v1/", "api_key": "sk-secret-123456"})
    assert response.status_code == 302
    connection = Connection.objects.get(name="Prod")
    assert connection.get_api_key() == "sk-secret-123456" and connection.base_url == "https://api.example.com/v1"
    edit = reverse("inventory:connection_edit", args=[connection.pk])
    page = client.get(edit).content.decode()
    assert "sk-secret" not in page and "Leave this empty to keep it" in page
    response = client.post(edit, {"name": "prod", "base_url": "https://api.example.com/v1", "api_key": ""})
    assert response.status_code == 302  # renaming itself is no clash
    connection.refresh_from_db()
    assert connection.get_api_key() == "sk-secret-123456"
    ConnectionFactory(name="Other")
    response = client.post(edit, {"name": "other", "base_url": "https://api.example.com/v1"})
    assert response.status_code == 422 and "already has this name" in str(response.context["form"].errors["name"])
    assert AuditEvent.objects.filter(verb="migrator.connection.created").count() == 1


def test_test_button_starts_a_job(client, engineer):
    connection = ConnectionFactory()
    login(client, engineer)
    response = client.post(reverse("inventory:connection_test", args=[connection.pk]))
    job = Job.objects.get(kind="inventory.test_connection")
    assert response.status_code == 302 and response["Location"] == reverse("core:job_detail", args=[job.pk])
    assert job.params == {"connection_id": connection.pk} and job.subject_id == str(connection.pk)
    response = client.post(reverse("inventory:connection_test", args=[connection.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Redirect"] == reverse("core:job_detail", args=[job.pk + 1])


def test_archive_upload_runs_as_a_job(client, engineer, run_queued_jobs, tmp_path):
    login(client, engineer)
    body = a.write_jsonl(tmp_path / "up.jsonl", [a.assistant(1), a.assistant(2, tools=[{"type": "nope"}])]).read_bytes()
    response = client.post(reverse("inventory:import"),
                           {"source": "archive", "archive": SimpleUploadedFile("up.jsonl", body)})
    job = Job.objects.get(kind="inventory.import_archive")
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    (done,) = run_queued_jobs()
    assert done.status == JobStatus.SUCCEEDED
    assert done.result["assistants"] == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 1}
    assert done.result["errors"][0]["where"] == "line 3: assistant asst_0002, field tools[0].type"
    from pathlib import Path

    assert not Path(job.params["path"]).exists()  # uploads are not kept once imported
    page = client.get(reverse("inventory:import")).content.decode()
    assert f"#{job.pk}" in page
    # The job page reports in words and tables; the raw JSON is one click away.
    page = client.get(job.get_absolute_url()).content.decode()
    assert "Import the export archive <strong>up.jsonl</strong>." in page
    assert "Imported 1 new assistant" in page and "1 problem" in page
    assert 'data-testid="import-counts"' in page and "field tools[0].type" in page
    assert '<summary class="muted small">Raw JSON</summary>' in page


def test_archive_form_rejects_wrong_files(client, engineer):
    login(client, engineer)
    response = client.post(reverse("inventory:import"),
                           {"source": "archive", "archive": SimpleUploadedFile("photo.png", b"\x89PNG")})
    assert response.status_code == 422
    assert "does not look like an archive" in str(response.context["archive_form"].errors["archive"])


def test_live_form_reports_bad_thread_lists_and_gone_apis(client, engineer):
    connection = ConnectionFactory(name="Old")
    login(client, engineer)
    response = client.post(reverse("inventory:import"), {
        "source": "live", "connection": connection.pk,
        "thread_text": "thread_id,flow\nthread_ok,billing\nthread bad,x\nthread_ok,other",
    })
    assert response.status_code == 422
    errors = response.context["live_form"].errors["thread_text"]
    assert any(e.startswith("line 3: thread_id:") for e in errors)
    assert any("listed twice" in e for e in errors)
    Connection.objects.filter(pk=connection.pk).update(answers={"assistants": False})
    response = client.post(reverse("inventory:import"), {"source": "live", "connection": connection.pk,
                                                         "thread_text": "thread_ok"})
    assert response.status_code == 422 and "Import an export archive" in str(response.context["live_form"].errors)
    assert 'data-testid="gone-' in client.get(reverse("inventory:import")).content.decode()
    assert not Job.objects.exists()


def test_live_form_starts_a_job_with_the_parsed_list(client, engineer):
    connection = ConnectionFactory()
    login(client, engineer)
    upload = SimpleUploadedFile("threads.json", b'[{"thread_id": "thread_a", "flow": "web", "tags": ["x"]}]')
    response = client.post(reverse("inventory:import"), {"source": "live", "connection": connection.pk,
                                                         "thread_file": upload})
    job = Job.objects.get(kind="inventory.import_connection")
    assert response.status_code == 302
    assert job.params["threads"] == [{"thread_id": "thread_a", "flow": "web", "end_user_id": "", "tags": ["x"],
                                      "assistant_id": ""}]


def test_assistant_usage_shows_figures_drift_and_model_warning(client, engineer, estate):
    login(client, engineer)
    response = client.get(reverse("inventory:assistant_usage", args=[estate.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["tabs"][1]["active"] and response.context["tabs"][1]["key"] == "usage"
    assert 'data-testid="stat-messages">8<' in page
    assert "billing-web" in page
    assert 'data-testid="model-warning"' in page and "gpt-5.4-mini" in page  # gpt-3.5-turbo is retired
    assert 'data-testid="needs-review"' in page
    assert "<del class=\"line\">Line one</del>" not in page  # unchanged lines are context, not deletions
    assert '<ins class="line">Line one</ins>' in page and "You are assistant" in page
    assert AssistantRevision.objects.filter(assistant=estate).count() == 1


def test_business_context_override_and_back(client, product_owner, estate):
    login(client, product_owner)
    url = reverse("inventory:assistant_usage", args=[estate.pk])
    response = client.post(url, {"priority": "bogus", "tags": ["revenue"]})
    assert response.status_code == 422 and "priority" in response.context["form"].errors
    response = client.post(url, {"priority": "low", "tags": ["revenue", "support-load"], "other_tags": "EU, partner",
                                 "owner": product_owner.pk})
    assert response.status_code == 302
    estate.refresh_from_db()
    assert (estate.priority, estate.priority_overridden) == (Priority.LOW, True)
    assert estate.tags == ["revenue", "support-load", "eu", "partner"] and estate.owner == product_owner
    event = AuditEvent.objects.get(verb="migrator.assistant.business_context_changed")
    assert event.before["priority"] == Priority.CRITICAL and event.after["priority"] == Priority.LOW
    client.post(url, {"priority": "", "tags": ["revenue"]})
    estate.refresh_from_db()
    assert (estate.priority, estate.priority_overridden) == (estate.suggested_priority, False)


def test_usage_page_and_model_radar(client, engineer, estate):
    AssistantFactory(name="Idle", model="gpt-6-luna")
    login(client, engineer)
    page = client.get(reverse("inventory:usage")).content.decode()
    assert 'data-testid="pareto-chart"' in page and "<polyline" in page and "cdn" not in page.lower()
    assert 'data-testid="needed-for-80">1<' in page
    response = client.get(reverse("inventory:model_radar"))
    rows = response.context["rows"]
    assert rows[0].model == "gpt-3.5-turbo" and rows[0].state == "retired"
    assert rows[0].info.successor == "gpt-5.4-mini" and rows[0].assistant_count == 1
    assert {r.model: r.state for r in rows}["gpt-6-luna"] == "current"


def test_usage_figures_are_formatted_for_people(client, engineer):
    from tests.factories import AssistantFactory

    assistant = AssistantFactory(name="Busy bot", avg_turns_per_thread=6.142857142857143, message_count=12345,
                                 thread_count=1204, traffic_share=0.1734)
    client.force_login(engineer)
    html = client.get(f"/inventory/assistants/{assistant.pk}/usage/").content.decode()
    assert "6.142857" not in html and ">6.1<" in html
    assert "12,345" in html and "1,204" in html and "17.3%" in html
    html = client.get("/inventory/usage/").content.decode()
    assert "6.142857" not in html and "12,345" in html


@pytest.mark.parametrize("counts", [[50, 50, 30, 10, 10, 10, 0, 0], [7] * 12, [1000, 1, 1, 1], [3, 3, 2, 2, 2, 1, 1]])
def test_usage_80_percent_mark_and_running_sums_match_counting_one_by_one(client, engineer, counts, monkeypatch):
    from migrator.core.models import Assistant
    from migrator.inventory.views import usage
    from tests.factories import AssistantFactory

    for i, n in enumerate(counts):
        AssistantFactory(name=f"A{i:02d}", message_count=n)
    total, carried, expected = sum(counts), 0, 0
    for n in sorted(counts, reverse=True):  # the list's order, one assistant at a time
        if carried >= 0.8 * total:
            break
        expected += 1
        carried += n
    assert usage.needed_for_80(usage.message_histogram(Assistant.objects.all()), total) == expected
    client.force_login(engineer)
    response = client.get(reverse("inventory:usage"))
    assert response.context["summary"] == {"total": total, "needed_for_80": expected, "count": len(counts)}
    running = [sum(sorted(counts, reverse=True)[: k + 1]) for k in range(len(counts))]
    assert [a.carried for a in response.context["assistants"]] == running
    monkeypatch.setattr(usage, "PER_PAGE", 3)  # later pages start from what came before them
    pages = [client.get(reverse("inventory:usage"), {"page": p}).context["assistants"]
             for p in range(1, (len(counts) + 2) // 3 + 1)]
    assert [a.carried for page in pages for a in page] == running
