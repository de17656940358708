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


def test_the_flow_page_charts_error_rate_and_latency_per_release(client, engineer, support_lead, product_owner):
    import re
    import time

    from migrator.rollouts import selectors
    from tests.rollouts.helpers import outcome

    flow, _v1, _v2 = ramping_flow(engineer, support_lead)
    # Two minutes of traffic: production steady at 400 ms, the candidate at 400 ms then 2,000 ms.
    now = time.time()
    rows = []
    for minute, cand_ms in ((now - 120, 400.0), (now, 2000.0)):
        for i in range(100):
            rows.append({**outcome("prodrel", "production", latency=400.0), "at": minute})
            rows.append({**outcome("candrel", "candidate", latency=cand_ms, error=i < 10), "at": minute})
    outcome_services.ingest(flow_id=flow.pk, batch_id="b", outcomes=rows)
    lat = selectors.latency_chart(flow)
    lines = {line["name"]: line for line in lat["lines"]}
    assert set(lines) == {"production prodrel p50", "production prodrel p95", "candidate candrel p50",
                          "candidate candrel p95"}
    cand = [float(p.split(",")[1]) for p in lines["candidate candrel p95"]["points"].split()]
    assert len(cand) == 2 and cand[1] < cand[0]  # higher latency is drawn higher (smaller y)
    assert lat["ymax"] >= 2000 and lat["y_top"] == "5,000 ms"  # 2,000 ms × 1.1 rounds up to 5,000
    assert lat["marks"] and lat["marks"] == selectors.chart(flow)["marks"]  # the ramp, on both charts

    client.force_login(product_owner)
    page = client.get(f"/flows/f/{flow.slug}/").content.decode()
    url = re.search(r'data-testid="flow-live-charts" hx-get="([^"]+)"', page).group(1)
    fragment = client.get(url)
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert 'data-testid="rollout-chart"' in html and 'data-testid="latency-chart"' in html
    assert "series-p95" in html and "series-p50" in html and 'data-kind="ramp"' in html and "style=" not in html
    cutover_page = client.get(f"/cutover/flows/{flow.slug}/").content.decode()
    assert 'data-testid="latency-chart"' in cutover_page


def test_the_flow_charts_say_when_nothing_was_reported_and_hide_flows_from_others(client, engineer, support_lead):
    flow, _v1, _v2 = ramping_flow(engineer, support_lead)
    client.force_login(support_lead)
    html = client.get(f"/rollouts/flows/{flow.slug}/charts/").content.decode()
    assert "No outcomes reported in the last hour" in html and "<svg" not in html
    assert client.get("/rollouts/flows/no-such-flow/charts/").status_code == 404


def test_the_pages_under_ingest_read_only_aggregates_in_a_constant_number_of_queries(client, engineer,
                                                                                   support_lead):
    """The cutover page and the inbox (what bench/outcomes.py loads while ingest runs) never read the raw
    outcome rows, and their query counts do not grow with the minutes, releases or outcomes reported."""
    import time

    from django.db import connection

    flow, _v1, _v2 = ramping_flow(engineer, support_lead)
    guard_services.set_guard(flow_id=flow.pk, actor=support_lead, min_sample=10_000, max_error_rate_increase=0.5,
                             action="pause")
    client.force_login(support_lead)
    rng = random.Random(9)

    def counted() -> list[int]:
        counts = []
        for url in (f"/cutover/flows/{flow.slug}/", "/cutover/"):
            client.get(url)
            seen: list[str] = []

            def record(execute, sql, params, many, context, seen=seen):
                seen.append(sql)
                return execute(sql, params, many, context)

            with connection.execute_wrapper(record):
                assert client.get(url).status_code == 200
            assert not [sql for sql in seen if '"rollouts_outcome"' in sql], url
            counts.append(len(seen))
        return counts

    outcome_services.ingest(flow_id=flow.pk, batch_id="one", outcomes=sample("prodrel", "production", 50,
                                                                             error_rate=0.01, rng=rng))
    few = counted()
    now = time.time()
    for i, (release, role) in enumerate([("prodrel", "production"), ("candrel", "candidate"), ("old", "production"),
                                         ("shadowrel", "shadow")]):
        rows = sample(release, role, 400, error_rate=0.05, rng=rng, ttft=80.0)
        for j, row in enumerate(rows):
            row["at"] = now - 60 * (j % 40)
        outcome_services.ingest(flow_id=flow.pk, batch_id=f"many-{i}", outcomes=rows)
    assert counted() == few
