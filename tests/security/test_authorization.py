"""Authorization before anything else, and by object (issue 15)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from migrator.core.status import FlowStatus
from tests.factories import AssistantFactory, FlowFactory

pytestmark = pytest.mark.django_db


def test_product_owners_and_support_leads_get_403_moving_a_flow_and_engineers_get_422(
        client, product_owner, support_lead, engineer):
    flow = FlowFactory(assistant=AssistantFactory(), status=FlowStatus.PLANNING, mode="")
    url = reverse("flows:transition", args=[flow.slug])
    # "Ready" is now "validated", which only a passing validation run reaches; blocking is the manual move.
    for target in (FlowStatus.VALIDATED, FlowStatus.BLOCKED):
        for user in (product_owner, support_lead):
            client.force_login(user)
            response = client.post(url, {"to": target, "reason": "because"})
            assert response.status_code == 403, (user.username, target, response.status_code)
            assert b"that happens when" not in response.content
    client.force_login(engineer)  # may move flows by hand, so they learn why this one cannot move
    response = client.post(url, {"to": FlowStatus.VALIDATED, "reason": "because"})
    assert response.status_code == 422 and b"that happens when" in response.content
    flow.refresh_from_db()
    assert flow.status == FlowStatus.PLANNING


# --- Try it: object-level authorization on connections, and no part of a key in any error ---------------------

def _real_connection(sandbox, key: str):
    from tests.factories import ConnectionFactory

    connection = ConnectionFactory(name="Production OpenAI", base_url=sandbox.base_url, is_sandbox=False)
    connection.set_api_key(key)
    connection.save()
    return connection


def test_try_it_refuses_a_connection_the_role_may_not_use(client, sandbox, product_owner,
                                                                           support_lead, engineer):
    from migrator.core.services import NotAllowed
    from migrator.prompts import services
    from tests.prompts.factories import PromptVersionFactory

    version = PromptVersionFactory()
    connection = _real_connection(sandbox, sandbox.api_key)
    for user in (product_owner, support_lead):
        client.force_login(user)
        page = client.get(f"/prompts/versions/{version.pk}/try/")
        assert page.status_code == 200 and "Production OpenAI" not in page.content.decode()
        response = client.post(f"/prompts/versions/{version.pk}/try/", {"input": "hi", "connection": connection.pk})
        assert response.status_code == 422 and b"Select a valid choice" in response.content
        with pytest.raises(NotAllowed, match="may not use the connection"):
            services.start_try(version_id=version.pk, actor=user, input_text="hi", connection_id=connection.pk)
    from migrator.core.models import Job

    assert not Job.objects.filter(kind="prompts.try_version").exists()
    client.force_login(engineer)  # engineers manage connections, so they may use them
    response = client.post(f"/prompts/versions/{version.pk}/try/", {"input": "hi", "connection": connection.pk})
    assert response.status_code == 302


def test_try_it_error_shows_no_part_of_the_key(sandbox, engineer, run_queued_jobs):
    from migrator.core.models import JobStatus
    from migrator.prompts import services
    from tests.prompts.factories import PromptVersionFactory

    key = "sk-proj-wrongwrongwrongQ7xZ"
    connection = _real_connection(sandbox, key)
    version = PromptVersionFactory()
    services.start_try(version_id=version.pk, actor=engineer, input_text="hi", connection_id=connection.pk)
    [done] = run_queued_jobs()
    assert done.status == JobStatus.FAILED and "HTTP 401" in done.error
    shown = done.error + " ".join(line for line in (done.log or "").splitlines())
    for part in ("Q7xZ", "sk-proj", "wrongwrong"):
        assert part not in shown, done.error


def test_tool_tests_and_live_imports_use_only_connections_the_role_may_use(sandbox, product_owner, engineer):
    from migrator.core.services import NotAllowed
    from migrator.core.services.connection_access import may_use, usable

    connection = _real_connection(sandbox, sandbox.api_key)
    assert not may_use(product_owner, connection, "try") and may_use(engineer, connection, "try")
    assert not may_use(product_owner, connection, "tool_test")  # no tool-test permission at all
    assert list(usable(product_owner, "try")) == [] or all(c.is_sandbox for c in usable(product_owner, "try"))
    from migrator.inventory.services.imports import import_from_connection

    with pytest.raises(NotAllowed):
        import_from_connection(connection=connection, actor=product_owner)


# --- a connection test during an outage ---------------------------------------------------------------------

def test_a_connection_test_during_an_outage_fails_and_keeps_what_the_last_test_recorded(
        client, make_sandbox, run_queued_jobs, engineer):
    from migrator.core.models import Connection, Job, JobStatus
    from migrator.core.services.jobs import start_job
    from tests.factories import ConnectionFactory

    running = make_sandbox()
    connection = ConnectionFactory(name="Flaky", base_url=running.base_url)
    connection.set_api_key(running.api_key)
    connection.save()
    never_tested = ConnectionFactory(name="Never tested", base_url=running.base_url)
    start_job(kind="inventory.test_connection", actor=engineer, params={"connection_id": connection.pk},
              subject=connection)
    [ok] = run_queued_jobs()
    assert ok.status == JobStatus.SUCCEEDED
    answers_before = Connection.objects.get(pk=connection.pk).answers
    assert answers_before["assistants"] is True

    running.stop()  # the outage
    for target in (connection, never_tested):
        start_job(kind="inventory.test_connection", actor=engineer, params={"connection_id": target.pk},
                  subject=target)
    jobs = run_queued_jobs()
    for job in jobs:
        assert job.status == JobStatus.FAILED and "could not reach" in job.error, job.error
    connection.refresh_from_db()
    never_tested.refresh_from_db()
    assert connection.answers == answers_before and not connection.assistants_api_gone
    assert never_tested.answers == {} and not never_tested.assistants_api_gone
    assert "could not reach" in connection.last_test_error
    client.force_login(engineer)
    page = client.get("/inventory/import/").content.decode()
    assert "shut it down" not in page and "shut down on" not in page
    assert Job.objects.filter(status=JobStatus.FAILED, kind="inventory.test_connection").count() == 2


def test_every_connection_action_names_a_real_permission():
    from django.contrib.auth.models import Permission

    from migrator.core.services.connection_access import ACTIONS, USE_ANY

    for perm in {p for p, _label in ACTIONS.values()} | {USE_ANY}:
        app_label, codename = perm.split(".")
        assert Permission.objects.filter(content_type__app_label=app_label, codename=codename).exists(), perm
