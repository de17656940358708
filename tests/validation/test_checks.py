"""Checks that call the connection (embeddings, judge), checks that cannot run, and the scorer's rules."""

from __future__ import annotations

import pytest

from migrator.core.actors import SYSTEM
from migrator.validation.checks import CaseFacts, Scorer, resolve
from migrator.validation.models import Verdict
from migrator.validation.replay import TurnOutcome
from migrator.validation.services import runs as run_services
from migrator.validation.services import testsets as set_services


def _run(rec, checks: dict):
    test_set = set_services.create_test_set(actor=SYSTEM, assistant_id=rec.assistant.pk, name="s", sample_size=1)
    set_services.set_checks(actor=SYSTEM, test_set_id=test_set.pk, checks=checks)
    test_set.refresh_from_db()
    run = run_services.create_run(actor=SYSTEM, test_set=test_set, connection=rec.connection,
                                  config=dict(rec.version.config), config_label="v1", mode="stateless")
    return run_services.execute_run(run_id=run.pk, actor=SYSTEM)


@pytest.mark.django_db
def test_embeddings_through_the_connection(weather):
    run = _run(weather, {"embedding_similarity": {"enabled": True, "threshold": 0.9}})
    assert run.verdict == Verdict.PASS, run.summary
    checks = [c for r in run.results.all() for c in r.checks if c["name"] == "embedding_similarity"]
    assert checks and all(c["status"] == "pass" and c["score"] > 0.99 for c in checks)


@pytest.mark.django_db
def test_a_check_that_cannot_run_makes_the_run_incomplete_never_passed(weather):
    run = _run(weather, {"embedding_similarity": {"enabled": True, "model": "text-embedding-nope"}})
    assert run.verdict == Verdict.INCOMPLETE and run.status == "incomplete"
    result = run.results.first()
    check = next(c for c in result.checks if c["name"] == "embedding_similarity")
    assert check["status"] == "error" and "text-embedding-nope" in check["detail"]
    assert "could not be checked" in run.summary


@pytest.mark.django_db
def test_optional_llm_judge_runs_through_the_connection(weather):
    run = _run(weather, {"llm_judge": {"enabled": True, "threshold": 0, "rubric": "Same facts."}})
    judged = [c for r in run.results.all() for c in r.checks if c["name"] == "llm_judge"]
    assert judged and all(c["status"] == "pass" and 0 <= c["score"] <= 1 for c in judged)


def _facts(**kw) -> CaseFacts:
    base = {"expected_text": "Your invoice total is 120 EUR.", "expected_tool_calls": [], "expected_json": None,
            "expectations": [], "contract": {}, "model": "gpt-4o"}
    return CaseFacts(**{**base, **kw})


def test_a_blocking_failure_cannot_be_averaged_away():
    settings = resolve({"refusal": {"weight": 0.01}})
    outcome = TurnOutcome(text="I'm sorry, but I can't help with that.", completed=True, status="completed")
    verdict, _score, _checks, reasons = Scorer(settings).score(_facts(), outcome)
    assert verdict == "fail" and any("refuses" in r for r in reasons)
    # The same low-weight failure without the blocking flag is averaged away: that is what blocking prevents.
    settings = resolve({"refusal": {"blocking": False, "weight": 0.01}, "text_similarity": {"weight": 0}})
    verdict, *_ = Scorer(settings).score(_facts(), outcome)
    assert verdict == "pass"


def test_tool_parity_names_arguments_and_order():
    recorded = [{"name": "a", "arguments": '{"x": 1, "y": 2}', "output": "1"},
                {"name": "b", "arguments": "{}", "output": "2"}]
    outcome = TurnOutcome(text="done", completed=True, status="completed",
                          tool_calls=[{"name": "b", "arguments": "{}", "matched": True},
                                      {"name": "a", "arguments": '{"x": 1, "y": 3, "z": 0}', "matched": True}])
    settings = resolve({"text_similarity": {"enabled": False}})
    _, _, checks, _ = Scorer(settings).score(_facts(expected_text="", expected_tool_calls=recorded), outcome)
    by = {c["name"]: c for c in checks}
    assert by["tool_names"]["status"] == "pass" and by["tool_names"]["score"] == 1
    assert by["tool_args"]["status"] == "fail" and "argument drift" in by["tool_args"]["detail"]
    assert by["tool_order"]["status"] == "fail" and "b → a" in by["tool_order"]["detail"]
    exact = resolve({"tool_args": {"mode": "exact"}})
    _, _, checks, _ = Scorer(exact).score(_facts(expected_text="", expected_tool_calls=recorded[1:]),
                                          TurnOutcome(text="ok", completed=True, status="completed",
                                                      tool_calls=[{"name": "b", "arguments": "{}", "matched": True}]))
    assert {c["name"]: c["status"] for c in checks}["tool_args"] == "pass"


def test_json_checks_against_the_contract_and_the_recording():
    contract = {"type": "json_schema", "name": "invoice", "schema": {
        "type": "object", "properties": {"total": {"type": "number"}}, "required": ["total"],
        "additionalProperties": False}}
    facts = _facts(expected_text='{"total": 120}', expected_json={"total": 120}, contract=contract)
    ok = TurnOutcome(text='{"total": 120}', completed=True, status="completed")
    verdict, _, checks, _ = Scorer(resolve({})).score(facts, ok)
    assert verdict == "pass" and {c["name"] for c in checks} >= {"json_valid", "json_schema", "json_diff"}
    wrong = TurnOutcome(text='{"total": "120"}', completed=True, status="completed")
    verdict, _, checks, _reasons = Scorer(resolve({})).score(facts, wrong)
    by = {c["name"]: c for c in checks}
    assert verdict == "fail" and by["json_schema"]["status"] == "fail" and "at /total" in by["json_schema"]["detail"]
    assert by["json_diff"]["status"] == "fail" and "type changes at ['total']" in by["json_diff"]["detail"]
    cost = by["cost"]
    assert cost["status"] == "pass" and cost["value"] == 0  # no tokens, no cost
