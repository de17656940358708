"""Every action that changes what production serves asks first, in words: what production gets, for whom, and
why (the reason goes to the audit log). Nothing changes until the confirmation is posted."""

from __future__ import annotations

import pytest
from django.urls import reverse

from migrator.core.models import AuditEvent
from migrator.cutover import services
from migrator.cutover.models import FlowRollout, ServingChange
from tests.cutover.helpers import evidence_passing
from tests.cutover.test_services import OTHERS, _ramp_setup, flow  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def _percent(of) -> float:
    return float(FlowRollout.objects.get(flow=of).percent)


def test_a_ramp_step_asks_first_saying_who_gets_what(client, flow, engineer, support_lead):  # noqa: F811
    _ramp_setup(flow, engineer, support_lead)
    client.force_login(support_lead)
    url = reverse("cutover:ramp", args=[flow.slug])
    page = client.post(url, {"percent": "10"})
    html = page.content.decode()
    assert page.status_code == 200 and 'data-testid="confirm"' in html
    assert "10% of subjects of Orders get v2 (gpt-5.6-sol); the rest stay on v1 (gpt-5.4-mini)." in html
    assert _percent(flow) == 0 and not ServingChange.objects.filter(kind="ramp").exists()  # nothing yet
    # Confirming without a reason asks again and changes nothing.
    again = client.post(url, {"percent": "10", "confirmed": "yes", "reason": " "})
    assert again.status_code == 422 and "Say why you ramp now" in again.content.decode() and _percent(flow) == 0
    done = client.post(url, {"percent": "10", "confirmed": "yes", "reason": "error rate flat for an hour"})
    assert done.status_code == 302 and _percent(flow) == 10
    event = AuditEvent.objects.filter(verb="migrator.cutover.ramped").get()
    assert event.data["reason"] == "error rate flat for an hour"


def test_approving_a_cutover_and_rolling_back_ask_first(client, flow, engineer, support_lead):  # noqa: F811
    with evidence_passing(*OTHERS):
        request = services.request_cutover(flow_id=flow.pk, actor=engineer)
    client.force_login(support_lead)
    url = reverse("cutover:decide", args=[request.pk])
    html = client.post(url, {"decision": "approve", "reason": "runs pass"}).content.decode()
    # A first cutover serves everyone at once: the confirmation says so.
    assert "Every subject of Orders gets v1 (gpt-5.4-mini) at once" in html and "runs pass</textarea>" in html
    request.refresh_from_db()
    assert request.status == "awaiting_approval"
    with evidence_passing(*OTHERS):
        client.post(url, {"decision": "approve", "reason": "runs pass", "confirmed": "yes"})
    request.refresh_from_db()
    assert request.status == "completed" and FlowRollout.objects.get(flow=flow).production.number == 1

    rollback = reverse("cutover:rollback", args=[flow.slug])
    html = client.post(rollback, {"reason": "answers regressed"}).content.decode()
    assert "v1 (gpt-5.4-mini) stops serving, and Orders serves nothing" in html
    assert FlowRollout.objects.get(flow=flow).production_id is not None
    # A first cutover has no previous release: the confirmation offers "stop serving" (its form carries it).
    assert 'name="stop_serving" value="yes"' in html
    client.post(rollback, {"reason": "answers regressed", "confirmed": "yes", "stop_serving": "yes"})
    assert FlowRollout.objects.get(flow=flow).production_id is None


def test_declining_changes_no_production_and_asks_nothing(client, flow, engineer, support_lead):  # noqa: F811
    with evidence_passing(*OTHERS):
        request = services.request_cutover(flow_id=flow.pk, actor=engineer)
    client.force_login(support_lead)
    response = client.post(reverse("cutover:decide", args=[request.pk]), {"decision": "decline", "reason": "no"})
    request.refresh_from_db()
    assert response.status_code == 302 and request.status == "declined"
