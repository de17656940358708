"""Cost control on a validation run (real sandbox over HTTP): a projection before it starts, spent updated as it
runs, and a hard budget that stops it cleanly with "budget reached", keeping every result replayed so far."""

from __future__ import annotations

import pytest

from migrator.core.actors import SYSTEM
from migrator.core.services import ServiceError
from migrator.validation.models import CaseResult, RunStatus
from migrator.validation.services import runs as run_services
from migrator.validation.services import testsets as set_services

pytestmark = pytest.mark.django_db

PRICED = "gpt-4.1"  # priced in the dated table, served by the sandbox


def _run(rec, *, budget=None):
    test_set = set_services.create_test_set(actor=SYSTEM, assistant_id=rec.assistant.pk, name="budget",
                                            strategy="recent", sample_size=10)
    config = {**rec.version.config, "model": PRICED}
    return run_services.create_run(actor=SYSTEM, test_set=test_set, connection=rec.connection, config=config,
                                   config_label="budget test", concurrency=1, source="test", budget_usd=budget)


def test_projection_is_there_before_the_run_and_spent_follows_usage(weather):
    run = _run(weather)
    plan = run.projection
    cases = len(run.case_ids)
    assert plan["requests"] >= cases and plan["input_tokens"] > 0 and plan["output_tokens"] > 0
    assert plan["cost_usd"] > 0 and plan["priced_on"] and plan["model"] == PRICED
    finished = run_services.execute_run(run_id=run.pk, actor=SYSTEM)
    assert finished.status != RunStatus.BUDGET_REACHED and finished.cases_done == cases
    spent = sum(r.cost_usd for r in CaseResult.objects.filter(run=finished))
    finished.refresh_from_db()
    assert finished.spent_usd == pytest.approx(spent) and spent > 0


def test_a_budget_below_the_projection_stops_with_budget_reached_and_keeps_every_result(weather):
    probe = _run(weather)
    budget = round(probe.projection["cost_usd"] / 20, 6)
    run = _run(weather, budget=budget)
    run = run_services.execute_run(run_id=run.pk, actor=SYSTEM)
    run.refresh_from_db()
    assert run.status == RunStatus.BUDGET_REACHED, run.summary
    assert run.summary.startswith("Budget reached") and run.verdict == ""
    kept = CaseResult.objects.filter(run=run).count()
    assert 0 < kept < len(run.case_ids) and run.cases_done == kept  # nothing replayed is lost
    assert run.spent_usd >= float(run.budget_usd) and run.finished_at is not None


@pytest.mark.parametrize("bad", ["-1", "0", "lots", "1e9"])
def test_a_bad_budget_is_refused_saying_what(weather, bad):
    with pytest.raises(ServiceError, match="Budget"):
        _run(weather, budget=bad)


def test_the_pages_show_the_projection_before_and_spent_during(weather, client, engineer):
    from migrator.validation.models import ValidationRun

    test_set = set_services.create_test_set(actor=SYSTEM, assistant_id=weather.assistant.pk, name="pages",
                                            strategy="recent", sample_size=10)
    client.force_login(engineer)
    page = client.get(test_set.get_absolute_url()).content.decode()
    assert 'data-testid="run-projection"' in page and "requests" in page and "prices of" in page
    response = client.post(f"/validation/sets/{test_set.pk}/run/", {
        "connection": weather.connection.pk, "repeats": 1, "concurrency": 2, "budget_usd": "0.5"})
    assert response.status_code == 302, response.content.decode()[:500]
    run = ValidationRun.objects.get(test_set=test_set)
    assert float(run.budget_usd) == 0.5 and run.projection["requests"] >= len(run.case_ids)
    detail = client.get(run.get_absolute_url()).content.decode()
    assert 'data-testid="run-cost"' in detail and "of a <strong>$0.5000</strong> budget" in detail


def test_a_model_with_no_known_price_is_unknown_never_guessed(weather, client, engineer):
    from migrator.validation import pricing, projection
    from migrator.validation.models import TestCase

    # The catalogue's named successors that no source we hold prices stay unknown; dated snapshots of a priced
    # family take the family's price.
    for model in ("gpt-6-luna", "gpt-6.1-sol", "gpt-5.6-sol"):
        assert pricing.price_of(model) is None and pricing.describe(model) == "unknown"
    assert pricing.price_of("gpt-4.1-2025-04-14") == pricing.price_of("gpt-4.1")
    assert "OpenAI" in pricing.describe("gpt-4.1")
    test_set = set_services.create_test_set(actor=SYSTEM, assistant_id=weather.assistant.pk, name="unknown",
                                            strategy="recent", sample_size=10)
    cases = TestCase.objects.filter(pk__in=test_set.current_version.case_ids)
    plan = projection.project(cases=cases, config={"model": "gpt-6-luna"})
    assert plan["cost_usd"] is None and plan["price"] == "unknown" and "price unknown for gpt-6-luna" in plan["note"]
    assert plan["requests"] >= len(test_set.current_version.case_ids)  # requests and tokens are still projected
    config = {**weather.version.config, "model": "gpt-6-luna"}
    with pytest.raises(ServiceError, match="price is unknown"):
        run_services.create_run(actor=SYSTEM, test_set=test_set, connection=weather.connection, config=config,
                                config_label="unknown", source="test", budget_usd="1")
    run = run_services.create_run(actor=SYSTEM, test_set=test_set, connection=weather.connection, config=config,
                                  config_label="unknown", source="test")
    client.force_login(engineer)
    detail = client.get(run.get_absolute_url()).content.decode()
    assert 'data-testid="price-unknown">price unknown' in detail
