"""POST /api/v1/flows/<slug>/outcomes: token scope, idempotent batches, exact per-minute aggregates, bad input."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from django.utils import timezone

from migrator.flows.services import tokens as token_services
from migrator.rollouts.models import Outcome, OutcomeBatch, OutcomeMinute
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
