"""The replay engine under the connection's shared rate budget: a 429 holds every worker back for its
retry-after, and a case the API keeps refusing ends incomplete, never passed."""

from __future__ import annotations

import pytest

from migrator.core.actors import SYSTEM
from migrator.core.openai_client import client_for
from migrator.core.ratebudget import RateBudget
from migrator.validation.checks import CaseFacts, Scorer, resolve
from migrator.validation.replay import CaseInput, Replayer
from migrator.validation.services import testsets as set_services

pytestmark = pytest.mark.django_db


def test_429s_wait_on_the_shared_budget_then_leave_the_case_incomplete(weather):
    test_set = set_services.create_test_set(actor=SYSTEM, assistant_id=weather.assistant.pk, name="s", sample_size=1)
    case = test_set.current_version.cases()[0]
    slept: list[float] = []
    budget = RateBudget.for_connection(weather.connection, rpm=100_000, sleep=slept.append)
    client = client_for(weather.connection, max_retries=0).with_options(default_headers={"x-sandbox-fault": "429"})
    replayer = Replayer(client, config=weather.version.config, mode="stateless", store=True, budget=budget,
                        retries=2, sleep=slept.append)
    outcome = replayer.replay_case(CaseInput(case.key, case.history, case.user_input, case.expected_tool_calls))
    assert outcome.error.startswith("HTTP 429") and outcome.error_retryable
    assert sum(slept) >= 1.5  # each 429's retry-after (1 s) was waited out through the budget, not hammered
    facts = CaseFacts(expected_text=case.expected_text, expected_tool_calls=case.expected_tool_calls,
                      expected_json=None, expectations=[], contract={})
    verdict, _, _, reasons = Scorer(resolve({})).score(facts, outcome)
    assert verdict == "incomplete" and any("429" in r for r in reasons)
