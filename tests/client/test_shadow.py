"""The shadow stage: before any traffic moves, the client also calls the candidate in the background (store
false), and the cutover page shows the live agreement of the two releases."""

from __future__ import annotations

import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from migrator.rollouts.models import OutcomeMinute
from tests.client.conftest import ramp_to
from tests.flows.factories import make_version


def test_a_shadow_run_reports_agreement_before_traffic_moves(served_flow, client_for, support_lead, client):
    setup = served_flow(mode="stateless")
    with pytest.raises(CommandError, match="approved candidate"):
        call_command("cutover", "shadow", "--flow", "support-web", "--by", support_lead.username, "--share", "50",
                     stdout=StringIO())
    v2 = make_version(setup["assistant"], {"model": "gpt-5.4", "instructions": "You help with orders.",
                                           "tools": [], "text": {"format": {"type": "text"}}}, approved=True)
    ramp_to(setup["flow"], v2, 0)  # approved, nothing ramped: no real traffic on the candidate
    out = StringIO()
    call_command("cutover", "shadow", "--flow", "support-web", "--by", support_lead.username, "--share", "100",
                 stdout=out)
    assert "100.00% of production calls" in out.getvalue()
    m = client_for(setup["token"], send_interval=0.2)
    flow = m.flow("support-web")
    replies = [flow.respond(subject=f"s{i}", input="Where is my order?", state=None) for i in range(4)]
    assert all(r.role == "production" and r.response.model.startswith("gpt-5.4-mini") for r in replies)
    deadline = time.monotonic() + 20
    while m.shadows.stats["started"] < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    m.shadows.close()
    assert m.flush(timeout=20)
    rows = {row.role: row for row in OutcomeMinute.objects.all()}
    assert rows["production"].n == 4 and rows["shadow"].n == 4 and rows["shadow"].agreement_n == 4
    assert 0.3 < rows["shadow"].agreement_sum / 4 <= 1.0  # same question, different model: alike, not equal
    assert rows["shadow"].release != rows["production"].release
    client.force_login(support_lead)
    page = client.get("/cutover/flows/support-web/").content.decode()
    assert 'data-testid="agreement"' in page and "over 4 shadowed calls" in page
