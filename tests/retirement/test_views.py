"""The retirement pages: catalogue, notices and autopilot, and who may change what."""

from __future__ import annotations

import pytest

from migrator.core.models import Job
from migrator.retirement.models import AutopilotEnrolment
from migrator.retirement.services import autopilot, catalogue
from tests.factories import FlowFactory

pytestmark = pytest.mark.django_db


def test_pages_render_and_enrolment_is_for_engineers(client, engineer, support_lead):
    catalogue.sync(actor=catalogue.SYNC_ACTOR, refresh=False)
    flow = FlowFactory(slug="checkout")
    client.force_login(engineer)
    page = client.get("/models/").content.decode()
    assert "gpt-4.1" in page and "gpt-6-luna" in page and "Sync now" in page
    # Each successor's price: from the dated table with its source, or "unknown" (never a neighbour's price).
    row = page[page.index('data-testid="model-gpt-4.1"'):]
    assert row[row.index('data-testid="successor-price"'):].split("</td>")[0].endswith(">unknown")
    row = page[page.index('data-testid="model-gpt-5.1"'):]
    assert "$5.00 / $30.00 per 1M tokens" in row.split("</tr>")[0]
    assert client.get("/models/notices/").status_code == 200
    assert client.post("/models/autopilot/enrol/", {"flow": "checkout", "days": "21"}).status_code == 302
    row = AutopilotEnrolment.objects.get(scope=f"flow:{flow.pk}")
    assert row.enabled and row.days_before == 21
    refused = client.post("/models/autopilot/enrol/", {"flow": "nope"})
    assert refused.status_code == 400 and "No flow with the slug" in refused.content.decode()
    assert not AutopilotEnrolment.objects.filter(scope="all").exists()
    page = client.get("/models/autopilot/").content.decode()
    assert "Checkout" in page or flow.name in page
    client.post("/models/autopilot/run/")
    assert Job.objects.filter(kind="retirement.autopilot", created_by=engineer).exists()
    response = client.post("/models/sync/")
    assert response.status_code == 302 and Job.objects.filter(kind="retirement.sync_models").exists()

    client.force_login(support_lead)
    assert client.get("/models/autopilot/").status_code == 200
    assert client.post("/models/autopilot/enrol/", {"days": "5"}).status_code == 403
    assert client.post("/models/sync/").status_code == 403
    assert "Sync now" not in client.get("/models/").content.decode()


def test_out_of_window_and_unenrolled_flows_are_left_alone(sandbox):
    from datetime import date

    from tests.factories import AssistantFactory
    from tests.flows.factories import make_version

    assistant = AssistantFactory(model="gpt-4.1")
    make_version(assistant, {"model": "gpt-4.1", "instructions": "Help."}, approved=True)
    FlowFactory(assistant=assistant, slug="orders")
    [row] = autopilot.run(actor=autopilot.AUTOPILOT, as_of=date(2026, 12, 31), flow_slug="orders")
    assert row.action == "none" and row.reason == "not enrolled in the autopilot"
    autopilot.enrol(actor=autopilot.AUTOPILOT_ADMIN, days_before=10)
    [row] = autopilot.run(actor=autopilot.AUTOPILOT, as_of=date(2026, 12, 31), flow_slug="orders")
    assert row.action == "none" and row.reason == "14 days left; the autopilot acts within 10" and row.days_left == 14
    [row] = autopilot.run(actor=autopilot.AUTOPILOT, as_of=date(2027, 1, 10), flow_slug="orders")
    assert row.action == "none" and row.reason == "not in production yet"
    with pytest.raises(Exception, match="No flow with the slug"):
        autopilot.run(actor=autopilot.AUTOPILOT, flow_slug="missing")


def test_the_autopilot_actor_cannot_approve_or_edit():
    actor = autopilot.AUTOPILOT
    for perm in ("cutover.approve_cutover", "cutover.ramp_cutover", "core.approve_prompt", "prompts.edit_prompt",
                 "retirement.manage_autopilot"):
        assert not actor.has_perm(perm), perm
    assert actor.has_perm("cutover.request_cutover") and actor.has_perm("prompts.propose_successor")
