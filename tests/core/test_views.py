import pytest
from django.urls import reverse

from migrator.core.models import AuditEvent, Job, JobStatus
from migrator.core.status import MigrationStatus as S
from tests.factories import AssistantFactory, JobFactory

pytestmark = pytest.mark.django_db


def test_anonymous_users_are_sent_to_login(client):
    for name in ("core:dashboard", "core:assistant_list", "core:job_list", "core:audit_log", "core:system_status"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), name


def test_every_role_can_open_the_main_pages(client, product_owner, engineer, support_lead):
    AssistantFactory(name="Billing helper", status=S.PROMPT_DRAFTED)
    for user in (product_owner, engineer, support_lead):
        client.force_login(user)
        for name in ("core:dashboard", "core:assistant_list", "core:job_list", "core:audit_log", "core:system_status"):
            assert client.get(reverse(name)).status_code == 200, (user, name)


def test_assistant_list_filters_and_returns_a_partial_for_htmx(client, engineer):
    AssistantFactory(name="Billing helper", model="gpt-4-turbo", status=S.PROMPT_DRAFTED)
    AssistantFactory(name="Docs bot", model="gpt-5.5")
    client.force_login(engineer)
    full = client.get(reverse("core:assistant_list"), {"q": "billing"})
    assert b"Billing helper" in full.content and b"Docs bot" not in full.content and b"<html" in full.content
    partial = client.get(reverse("core:assistant_list"), {"model_state": "retired"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content
    assert b"Billing helper" in partial.content and b"Docs bot" not in partial.content
    by_status = client.get(reverse("core:assistant_list"), {"status": S.INVENTORIED}, HTTP_HX_REQUEST="true")
    assert b"Docs bot" in by_status.content and b"Billing helper" not in by_status.content


def test_an_assistant_id_is_looked_up_by_prefix(client, engineer):
    AssistantFactory(legacy_id="asst_Prefix0001", name="First")
    AssistantFactory(legacy_id="asst_Prefix0002", name="Second")
    AssistantFactory(legacy_id="asst_Other0001", name="Mentions asst_Prefix0001", instructions="asst_Prefix0001")
    client.force_login(engineer)
    exact = client.get(reverse("core:assistant_list"), {"q": " asst_Prefix0001 "}).content
    assert b"First" in exact and b"Second" not in exact and b"Mentions" not in exact
    prefix = client.get(reverse("core:assistant_list"), {"q": "asst_Prefix"}).content
    assert b"First" in prefix and b"Second" in prefix and b"Mentions" not in prefix


def test_bad_filter_values_do_not_500(client, engineer):
    client.force_login(engineer)
    response = client.get(reverse("core:assistant_list"), {"status": "nonsense", "sort": "'; drop", "page": "x"})
    assert response.status_code == 200


def test_a_claiming_status_is_refused_on_the_page_and_the_panel_says_why(client, product_owner):
    """A product owner cannot set "Prompt approved" with a click (no approved version, or their own edit)."""
    assistant = AssistantFactory(status=S.PROMPT_DRAFTED)
    client.force_login(product_owner)
    page = client.get(reverse("core:assistant_detail", args=[assistant.pk])).content.decode()
    assert 'data-testid="transition-prompt_approved-disabled"' in page and "approve a version on the Prompt tab" in page
    response = client.post(reverse("core:assistant_transition", args=[assistant.pk]),
                           {"to": S.PROMPT_APPROVED, "reason": "looks good"})
    assert response.status_code == 302
    assistant.refresh_from_db()
    assert assistant.status == S.PROMPT_DRAFTED and not AuditEvent.objects.exists()


def test_a_manual_move_from_the_page(client, engineer):
    assistant = AssistantFactory(status=S.PROMPT_DRAFTED)
    client.force_login(engineer)
    response = client.post(reverse("core:assistant_transition", args=[assistant.pk]),
                           {"to": S.BLOCKED, "reason": "legal review"})
    assert response.status_code == 302
    assistant.refresh_from_db()
    assert assistant.status == S.BLOCKED


def test_forbidden_transition_is_403_and_changes_nothing(client, support_lead):
    assistant = AssistantFactory(status=S.PROMPT_DRAFTED)
    client.force_login(support_lead)
    response = client.post(reverse("core:assistant_transition", args=[assistant.pk]),
                           {"to": S.RETIRED, "reason": "old"})
    assert response.status_code == 403
    assert b"retire" in response.content.lower()
    assistant.refresh_from_db()
    assert assistant.status == S.PROMPT_DRAFTED and not AuditEvent.objects.exists()


def test_block_without_reason_shows_a_field_error(client, engineer):
    assistant = AssistantFactory(status=S.INVENTORIED)
    client.force_login(engineer)
    response = client.post(reverse("core:assistant_transition", args=[assistant.pk]), {"to": S.BLOCKED, "reason": " "})
    assert response.status_code == 422
    assert b"Say why" in response.content
    assistant.refresh_from_db()
    assert assistant.status == S.INVENTORIED


def test_unknown_target_status_is_a_field_error_not_a_500(client, engineer):
    assistant = AssistantFactory()
    client.force_login(engineer)
    response = client.post(reverse("core:assistant_transition", args=[assistant.pk]), {"to": "teleported"})
    assert response.status_code == 422


def test_audit_filter_with_inverted_dates_shows_a_field_error(client, engineer):
    client.force_login(engineer)
    response = client.get(reverse("core:audit_log"), {"since": "2026-11-20", "until": "2026-11-01"})
    assert response.status_code == 400 and b"before the start date" in response.content
    response = client.get(reverse("core:audit_log"), {"since": "not-a-date"})
    assert response.status_code == 400 and b"valid date" in response.content


def test_job_progress_polling_stops_with_286_when_finished(client, engineer):
    client.force_login(engineer)
    running = JobFactory(status=JobStatus.RUNNING, created_by=engineer, progress_done=2, progress_total=4)
    response = client.get(reverse("core:job_progress", args=[running.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"hx-trigger=\"every 1s\"" in response.content
    done = JobFactory(status=JobStatus.SUCCEEDED, created_by=engineer)
    response = client.get(reverse("core:job_progress", args=[done.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 286 and b"every 1s" not in response.content


def test_jobs_are_only_visible_to_permitted_users(client, django_user_model):
    outsider = django_user_model.objects.create_user("outsider", password="x")
    job = Job.objects.create(kind="core.selftest")
    client.force_login(outsider)
    assert client.get(reverse("core:job_detail", args=[job.pk])).status_code == 404
    assert client.get(reverse("core:audit_log")).status_code == 403
    assert client.get(reverse("core:assistant_list")).status_code == 403


def test_selftest_job_runs_inline(client, engineer, run_queued_jobs):
    client.force_login(engineer)
    response = client.post(reverse("core:worker_selftest"))
    job = Job.objects.get()
    assert response["Location"] == job.get_absolute_url()
    run_queued_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.progress_done == job.progress_total == 5


def test_list_badges_prefer_shutdown_dates_reported_by_a_connection(client, engineer):
    from datetime import date

    from django.utils import timezone

    from migrator.inventory.models import ReportedModel
    from tests.factories import ConnectionFactory

    # gpt-5.5 is current in the shipped table; a connection says it shut down.
    AssistantFactory(name="Docs bot", model="gpt-5.5")
    ReportedModel.objects.create(connection=ConnectionFactory(), model_id="gpt-5.5",
                                 shutdown_date=date(2026, 1, 1), seen_at=timezone.now())
    client.force_login(engineer)
    response = client.get(reverse("core:assistant_list"), {"model_state": "retired"}, HTTP_HX_REQUEST="true")
    assert b"Docs bot" in response.content and b"badge-retired" in response.content


def test_sort_links_keep_the_filters_and_unnamed_assistants_print_their_id_once(client, engineer):
    AssistantFactory(name="", legacy_id="asst_nameless", status=S.PROMPT_DRAFTED)
    client.force_login(engineer)
    html = client.get(reverse("core:assistant_list"), {"status": S.PROMPT_DRAFTED}).content.decode()
    assert "??" not in html
    assert 'href="?status=prompt_drafted&amp;sort=priority"' in html
    assert html.count("asst_nameless") == 1 and "(unnamed)" in html


def test_the_import_page_links_the_archive_format_and_docs_open_inside_the_app(client, engineer):
    client.force_login(engineer)
    page = client.get(reverse("inventory:import")).content.decode()
    assert reverse("core:doc", args=["export-format"]) in page
    doc = client.get(reverse("core:doc", args=["export-format"])).content.decode()
    assert "Export archive format (version 1)" in doc and "migrator.archive" in doc
    assert client.get(reverse("core:doc", args=["nope"])).status_code == 404
    assert client.get("/docs/..%2Fpyproject/").status_code == 404
