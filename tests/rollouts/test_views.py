"""The guard form, the live panel and chart on the cutover page, and breaches in the support lead's inbox."""

from __future__ import annotations

import random

import pytest

from migrator.rollouts.models import Breach, Guard
from migrator.rollouts.services import guard as guard_services
from migrator.rollouts.services import outcomes as outcome_services
from tests.rollouts.helpers import ramping_flow, sample

pytestmark = pytest.mark.django_db


def test_the_support_lead_sets_the_guard_on_its_page(client, engineer, support_lead, product_owner):
    flow, _v1, _v2 = ramping_flow(engineer, support_lead)
    client.force_login(support_lead)
    page = client.get(f"/rollouts/flows/{flow.slug}/guard/")
    assert page.status_code == 200 and b'data-testid="guard-form"' in page.content
    bad = client.post(f"/rollouts/flows/{flow.slug}/guard/", {"min_sample": "5", "max_error_rate_increase": "2",
                                                              "soak_minutes": "0", "action": "pause"})
    assert bad.status_code == 200 and not Guard.objects.exists()  # the form says what is wrong, where
    assert b"min_sample" in bad.content or b"greater than or equal to 10" in bad.content
    done = client.post(f"/rollouts/flows/{flow.slug}/guard/", {
        "min_sample": "300", "max_error_rate_increase": "0.02", "max_p95_latency_ratio": "1.5", "soak_minutes": "10",
        "action": "rollback", "auto_advance": "on"})
    assert done.status_code == 302
    g = Guard.objects.get(flow=flow)
    assert (g.min_sample, g.action, g.auto_advance, g.max_p95_latency_ratio) == (300, "rollback", True, 1.5)
    client.force_login(product_owner)
    assert client.post(f"/rollouts/flows/{flow.slug}/guard/", {"min_sample": "300"}).status_code == 403


def test_the_cutover_page_charts_live_metrics_and_the_inbox_lists_breaches(client, engineer, support_lead):
    flow, _v1, _v2 = ramping_flow(engineer, support_lead)
    guard_services.set_guard(flow_id=flow.pk, actor=support_lead, min_sample=100, max_error_rate_increase=0.02,
                             action="rollback")
    rng = random.Random(5)
    outcome_services.ingest(flow_id=flow.pk, batch_id="p", outcomes=sample("prodrel", "production", 600,
                                                                           error_rate=0.01, rng=rng))
    outcome_services.ingest(flow_id=flow.pk, batch_id="c", outcomes=sample("candrel", "candidate", 200,
                                                                           error_rate=0.3, rng=rng))
    guard_services.evaluate(flow_id=flow.pk)
    client.force_login(support_lead)
    page = client.get(f"/cutover/flows/{flow.slug}/").content.decode()
    assert 'data-testid="rollout-chart"' in page and 'data-role="candidate"' in page
    assert 'data-kind="rollback"' in page and 'data-kind="breach"' in page
    assert 'data-testid="live-metrics"' in page and "candrel" in page and "Rolled back (breach)" in page
    assert "style=" not in page.split('data-testid="live-rollout"')[1].split("</section>")[0]
    inbox = client.get("/cutover/").content.decode()
    breach = Breach.objects.get()
    assert f'data-testid="breach-{breach.pk}"' in inbox and "error rate" in inbox
    assert client.post(f"/rollouts/breaches/{breach.pk}/acknowledge/").status_code == 302
    assert f'data-testid="breach-{breach.pk}"' not in client.get("/cutover/").content.decode()
