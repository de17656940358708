"""Cost control for the autopilot on the demo: a projection of the next run before it starts, and a hard budget
that leaves each flow it cannot afford blocked ("budget reached", or "price unknown"), losing nothing: a later run
carries on from where each flow stands."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from django.core.management import call_command

from migrator.cutover.models import CutoverRequest, RequestStatus
from migrator.retirement.models import AutopilotMove
from migrator.validation.models import ValidationRun

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

AS_OF = (date(2027, 1, 14) - timedelta(days=14)).isoformat()


def _call(*args: str) -> dict:
    out = io.StringIO()
    call_command("autopilot", *args, stdout=out)
    return json.loads(out.getvalue())


def test_projection_before_and_a_budget_that_blocks_without_losing_anything(sandbox, client, engineer):
    sandbox.reset("demo")
    call_command("seed_demo", sandbox_url=sandbox.base_url, password="demo-pass-123", stdout=io.StringIO())
    call_command("autopilot", "enrol", stdout=io.StringIO())
    plan = _call("projection", "--as-of", AS_OF, "--json")
    assert plan["flows"] and plan["requests"] == sum(r["requests"] for r in plan["flows"]) > 0
    for row in plan["flows"]:
        assert row["input_tokens"] > 0 and row["priced_on"] and row["successor"]
        # gpt-6-luna (the gpt-4.1/gpt-4o successor) has no known price: said, never guessed.
        assert (row["cost_usd"] is None) == (row["successor"] == "gpt-6-luna"), row
    if any(r["cost_usd"] is None for r in plan["flows"]):
        assert plan["cost_usd"] is None and "price unknown for gpt-6-luna" in plan["note"]
    client.force_login(engineer)
    page = client.get("/models/autopilot/").content.decode()
    assert 'data-testid="autopilot-projection"' in page  # shown on the page before a run (as of today)

    runs_before = ValidationRun.objects.count()
    rows = {f["slug"]: f for f in _call("run", "--as-of", AS_OF, "--budget", "0.0001", "--json")["flows"]}
    projected = {r["slug"] for r in plan["flows"]}
    for slug in projected:
        assert rows[slug]["action"] == "blocked", rows[slug]
        assert rows[slug]["reason"].startswith("budget"), rows[slug]
        assert "budget reached" in rows[slug]["reason"] or "price of gpt-6-luna is unknown" in rows[slug]["reason"]
    assert ValidationRun.objects.count() == runs_before  # nothing started, nothing to lose
    assert not CutoverRequest.objects.filter(requested_by_label="the retirement autopilot").exists()
    # The candidates are kept; the next run (no budget) carries on from them and files the requests.
    kept = dict(AutopilotMove.objects.filter(flow__slug__in=projected).values_list("flow__slug", "version_id"))
    assert all(kept.values())
    again = {f["slug"]: f for f in _call("run", "--as-of", AS_OF, "--json")["flows"]}
    assert all(again[slug]["action"] == "request_filed" for slug in projected), again
    assert dict(AutopilotMove.objects.filter(flow__slug__in=projected).values_list("flow__slug", "version_id")) == kept
    assert CutoverRequest.objects.filter(requested_by_label="the retirement autopilot",
                                         status=RequestStatus.AWAITING).count() == len(projected)
    assert _call("projection", "--as-of", AS_OF, "--json")["flows"] == []  # nothing left to validate


def test_a_bad_budget_is_refused(client, engineer):
    from migrator.core.models import Job

    client.force_login(engineer)
    response = client.post("/models/autopilot/run/", {"budget_usd": "lots"}, follow=True)
    assert "is not an amount in USD" in response.content.decode()
    assert not Job.objects.filter(kind="retirement.autopilot").exists()
    client.post("/models/autopilot/run/", {"budget_usd": "2.5"})
    assert Job.objects.get(kind="retirement.autopilot").params == {"budget_usd": "2.5000"}
