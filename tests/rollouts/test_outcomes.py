"""POST /api/v1/flows/<slug>/outcomes: token scope, idempotent batches, exact per-minute aggregates, bad input."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from migrator.flows.services import tokens as token_services
from migrator.rollouts.models import Outcome, OutcomeBatch, OutcomeHistogram, OutcomeMinute
from migrator.rollouts.services import outcomes as outcome_services
from tests.factories import FlowFactory
from tests.rollouts.helpers import outcome, sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(engineer, client):
    flow = FlowFactory(slug="support-web", mode="stateless")
    other = FlowFactory(slug="other-flow", mode="stateless")
    _t, everything = token_services.create_token(actor=engineer, name="all", consumer="web")
    _t, limited = token_services.create_token(actor=engineer, name="other", consumer="web", flow_ids=[other.pk])

    def post(slug: str, body, token: str | None = everything):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        data = body if isinstance(body, str) else json.dumps(body)
        return client.post(f"/api/v1/flows/{slug}/outcomes", data=data, content_type="application/json", **headers)

    return {"flow": flow, "post": post, "limited": limited}


def test_a_batch_is_counted_once_and_aggregated_per_minute(api):
    rng = random.Random(3)
    rows = sample("rel_a", "production", 300, error_rate=0.1, rng=rng) + sample("rel_b", "candidate", 100,
                                                                                error_rate=0.0, rng=rng)
    first = api["post"]("support-web", {"batch_id": "b-1", "outcomes": rows})
    assert first.status_code == 200 and first.json() == {"accepted": 400, "duplicate": False}
    again = api["post"]("support-web", {"batch_id": "b-1", "outcomes": rows})  # a retry after a lost answer
    assert again.status_code == 200 and again.json() == {"accepted": 0, "duplicate": True}
    assert Outcome.objects.count() == 400 and OutcomeBatch.objects.count() == 1
    found = outcome_services.metrics(flow_id=api["flow"].pk, since=timezone.now() - timedelta(hours=1))
    prod, cand = found[("rel_a", "production")], found[("rel_b", "candidate")]
    assert prod.n == 300 and prod.errors == sum(1 for r in rows[:300] if r["error"])
    assert cand.n == 100 and cand.errors == 0 and cand.input_tokens == 100 * 120
    exact = sorted(r["latency_ms"] for r in rows[300:])
    assert abs(cand.quantile("latency", 0.95) - exact[94]) / exact[94] < 0.06  # log buckets: within 5%
    assert cand.as_json()["cost_usd"] is None or cand.as_json()["cost_usd"] >= 0


def test_many_batches_add_up_exactly(api):
    for i in range(5):
        rows = [outcome("rel_a", error=(j % 4 == 0)) for j in range(40)]
        assert api["post"]("support-web", {"batch_id": f"b{i}", "outcomes": rows}).json()["accepted"] == 40
    total = sum(OutcomeMinute.objects.values_list("n", flat=True))
    errors = sum(OutcomeMinute.objects.values_list("errors", flat=True))
    assert total == 200 and errors == 50


@pytest.mark.parametrize(("rows", "where"), [
    ([{"release": "r", "latency_ms": "fast"}], "outcomes[0].latency_ms"),
    ([{"latency_ms": 3}], "outcomes[0].release"),
    ([outcome("r"), {"release": "r", "latency_ms": 1, "role": "boss"}], "outcomes[1].role"),
    ([{"release": "r", "latency_ms": 1, "tool_calls": "get_weather"}], "outcomes[0].tool_calls"),
    (["nope"], "outcomes[0]"),
])
def test_a_bad_outcome_refuses_the_batch_naming_the_field(api, rows, where):
    response = api["post"]("support-web", {"batch_id": "bad", "outcomes": rows})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_outcomes" and where in response.json()["error"]["message"]
    assert not Outcome.objects.exists() and not OutcomeBatch.objects.exists()


def test_scope_and_credentials_as_for_the_config_api(api):
    body = {"batch_id": "x", "outcomes": [outcome("r")]}
    assert api["post"]("support-web", body, token=None).status_code == 401
    assert api["post"]("support-web", body, token=api["limited"]).json()["error"]["code"] == "token_not_allowed"
    assert api["post"]("no-such-flow", body, token=api["limited"]).status_code == 403  # cannot probe slugs
    assert api["post"]("no-such-flow", body).json()["error"]["code"] == "flow_not_found"
    assert api["post"]("support-web", "{not json").status_code == 400
    assert api["post"]("support-web", {"outcomes": []}).status_code == 400  # no batch id
    assert not Outcome.objects.exists()


def test_trim_keeps_the_aggregates(api, settings):
    api["post"]("support-web", {"batch_id": "old", "outcomes": [outcome("r") for _ in range(5)]})
    later = timezone.now() + timedelta(hours=settings.OUTCOME_RAW_HOURS, minutes=1)
    assert outcome_services.trim(now=later) == (5, 0)
    assert not Outcome.objects.exists() and sum(OutcomeMinute.objects.values_list("n", flat=True)) == 5


def test_the_database_aggregates_a_batch_as_python_does(api):
    """PostgreSQL aggregates each batch in SQL (COPY into a staging table, one INSERT … SELECT … GROUP BY);
    the per-minute totals and histogram counts equal the Python aggregation over the same rows."""
    rng = random.Random(7)
    now = time.time()
    rows = []
    for _ in range(600):
        rows.append({
            "release": rng.choice(["rel_a", "rel_b"]), "role": rng.choice(["production", "candidate", "shadow"]),
            "at": now - rng.choice([0, 61, 130]), "model": rng.choice(["gpt-5.4-mini", "gpt-4o", "", "no-price-x"]),
            "latency_ms": rng.choice([0, 0.4, 1, 10, rng.lognormvariate(6, 1), 9e7]),
            "ttft_ms": rng.choice([None, rng.lognormvariate(5, 1)]),
            "error": rng.choice([None, None, "APIStatusError:500"]), "tool_calls": rng.choice([[], ["a", "b"]]),
            "schema_valid": rng.choice([None, True, False]), "refusal": rng.random() < 0.1,
            "input_tokens": rng.randrange(0, 5000), "output_tokens": rng.randrange(0, 900),
            "agreement": rng.choice([None, rng.random()]),
        })
    assert api["post"]("support-web", {"batch_id": "mixed", "outcomes": rows}).json()["accepted"] == 600
    assert api["post"]("support-web", {"batch_id": "mixed-2", "outcomes": rows[:100]}).json()["accepted"] == 100
    expected_minutes, expected_hist = outcome_services._aggregate(
        outcome_services._rows(api["flow"].pk, rows, timezone.now()) + outcome_services._rows(
            api["flow"].pk, rows[:100], timezone.now()))

    def stamp(minute) -> float:
        if isinstance(minute, str):  # SQLite's adapted value: naive UTC
            minute = datetime.fromisoformat(minute).replace(tzinfo=UTC)
        return minute.timestamp()

    expected: dict[tuple, list[float]] = {}
    for _f, m, rel, role, *sums in expected_minutes:
        key = (stamp(m), rel, role)
        expected[key] = [a + b for a, b in zip(expected.get(key, [0] * len(sums)), sums, strict=True)]
    found = {(r["minute"].timestamp(), r["release"], r["role"]): [r[name] for name in outcome_services.MINUTE_SUMS]
             for r in OutcomeMinute.objects.values()}
    assert found.keys() == expected.keys() and len(found) == 3 * 2 * 3
    for key, sums in found.items():
        assert sums == pytest.approx(expected[key], rel=1e-9)
    hist: dict[tuple, int] = {}
    for _f, m, rel, role, metric, bucket, n in expected_hist:
        key = (stamp(m), rel, role, metric, bucket)
        hist[key] = hist.get(key, 0) + n
    stored = {(r["minute"].timestamp(), r["release"], r["role"], r["metric"], r["bucket"]): r["n"]
              for r in OutcomeHistogram.objects.values()}
    assert stored == hist
    assert Outcome.objects.count() == 700


def test_the_quick_check_of_an_outcome_agrees_with_the_field_by_field_one():
    """Well-formed outcomes take a one-pass check; anything it does not take goes field by field (which names
    the bad field). Where the quick check answers, both give the same row."""
    rng = random.Random(11)
    values = {
        "release": ["r", "x" * 64, "x" * 65, "", None, 5],
        "role": [None, "", "production", "candidate", "shadow", "boss"],
        "at": [None, 0, -5, time.time(), 5e9, True, "now", float("nan")],
        "latency_ms": [0, 12, 3.5, -1, 1e12, 10**30, None, False, float("inf")],
        "ttft_ms": [None, 0, 80.5, -3, True],
        "model": [None, "", "gpt-4o", "m" * 101, 3],
        "error": [None, "", "APIStatusError:500", "e" * 101],
        "tool_calls": [None, [], ["a", "b"], ["x" * 200, "y" * 200], "get", [1], 0, {}],
        "schema_valid": [None, True, False, 1],
        "refusal": [None, True, False, "no"],
        "input_tokens": [None, 0, 120, 2e9, -4, 1.7, True],
        "output_tokens": [None, 0, 40, 5e9],
        "agreement": [None, 0, 0.5, 2, -1, False],
    }
    quick = checked = 0
    for _ in range(3000):
        raw = {k: rng.choice(v) for k, v in values.items() if rng.random() < 0.9}
        fast = outcome_services._quick(raw)
        try:
            slow = outcome_services._checked(raw, 0)
        except outcome_services.InvalidOutcomes:
            assert fast is None, raw
            checked += 1
            continue
        if fast is not None:
            assert fast == slow, raw
            assert [type(x) for x in fast] == [type(x) for x in slow], raw
            quick += 1
    assert quick > 20 and checked > 1000
    assert outcome_services._quick(["not", "an", "object"]) is None
