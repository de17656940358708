"""Browser: the cutover path per role — engineer requests, support lead reviews the evidence, approves, ramps
and rolls back; the requester cannot approve their own request."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from migrator.cutover.models import CutoverRequest, FlowRollout
from tests.cutover.helpers import evidence_passing, serve
from tests.factories import AssistantFactory, FlowFactory
from tests.flows.factories import make_version

pytestmark = [pytest.mark.browser]
OTHERS = ("validation", "backfill", "diagnostics")


@pytest.fixture
def live_flow(transactional_db):
    assistant = AssistantFactory(name="Order help", legacy_id="asst_browser_cut")
    v1 = make_version(assistant, {"model": "gpt-4o", "instructions": "Help with orders.", "tools": []}, approved=True)
    flow = FlowFactory(assistant=assistant, slug="order-help", name="Order help widget", mode="stateless",
                       status="migrated")
    serve(flow, v1)
    make_version(assistant, {"model": "gpt-5.4-mini", "instructions": "Help with orders, briefly.", "tools": []},
                 approved=True)
    return flow


def test_engineer_requests_and_support_lead_approves_ramps_and_rolls_back(page_as, screenshot, live_flow):
    with evidence_passing(*OTHERS):
        engineer = page_as("engineer")
        engineer.goto(f"/cutover/flows/{live_flow.slug}/")
        expect(engineer.get_by_test_id("production-version")).to_have_text("v1")
        expect(engineer.get_by_test_id("evidence-prompt")).to_have_attribute("data-state", "passed")
        engineer.fill("#id_note", "gpt-4o retires on 2027-01-14; v2 runs on its successor")
        engineer.get_by_test_id("request-cutover").click()
        expect(engineer.get_by_test_id("open-request")).to_be_visible()
        screenshot(engineer, "requested")
        request = CutoverRequest.objects.get()
        engineer.goto(f"/cutover/requests/{request.pk}/")
        expect(engineer.get_by_test_id("own-request")).to_be_visible()  # the requester cannot decide
        expect(engineer.get_by_test_id("approve")).to_have_count(0)

        lead = page_as("support_lead")
        lead.goto("/cutover/")
        expect(lead.get_by_test_id("nav-badge-cutover")).to_have_text("1")
        lead.get_by_test_id(f"review-{request.pk}").click()
        expect(lead.get_by_test_id("config-diff")).to_contain_text("gpt-5.4-mini")
        expect(lead.get_by_test_id("evidence-now")).to_contain_text("Approved prompt version")
        screenshot(lead, "evidence")
        lead.fill("#id_reason", "validation passed on the successor model")
        lead.get_by_test_id("approve").click()
        # Each action that changes production asks first, saying what production gets and for whom.
        expect(lead.get_by_test_id("confirm-sentence")).to_contain_text("keeps serving every subject")
        lead.get_by_test_id("confirm-action").click()
        expect(lead.get_by_test_id("ramp-form")).to_be_visible()
        lead.get_by_test_id("ramp-10").click()
        expect(lead.get_by_test_id("confirm-sentence")).to_contain_text("10% of subjects of")
        expect(lead.get_by_test_id("confirm-sentence")).to_contain_text("the rest stay on v1")
        screenshot(lead, "confirm-ramp")
        lead.fill("#id_confirm_reason", "error rate flat")
        lead.get_by_test_id("confirm-action").click()
        expect(lead.get_by_test_id("percent")).to_have_text("10%")
        expect(lead.get_by_test_id("flow-status")).to_have_text("Rolling out")
        screenshot(lead, "ramping")
        lead.fill("[data-testid=rollback-form] input[name=reason]", "refund answers regressed")
        lead.get_by_test_id("rollback").click()
        expect(lead.get_by_test_id("confirm-sentence")).to_contain_text("gets v1")
        lead.get_by_test_id("confirm-action").click()
        expect(lead.get_by_test_id("candidate-version")).to_have_count(0)
        expect(lead.get_by_test_id("serving-history")).to_contain_text("refund answers regressed")
        screenshot(lead, "rolled-back")
    rollout = FlowRollout.objects.get(flow=live_flow)
    assert rollout.production.number == 1 and rollout.candidate is None
