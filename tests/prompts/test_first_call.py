"""A generated configuration succeeds on its first call.

Every generated draft of the demo organisation (imported live from the sandbox, drafted through the prompts
service) and of the 50 corpus definitions makes a successful first ``responses.create`` on the sandbox, over
HTTP, through the openai SDK. Retired chat models get reasoning successors that refuse ``temperature`` and
``top_p``; the conversion drops them (the sandbox answers 400 like the API does) and says so in the ledger.
"""

from __future__ import annotations

import copy
import json

import openai
import pytest

from migrator.core.model_catalog import REASONING_PREFIXES, is_reasoning
from migrator.core.models import Assistant
from migrator.core.services.connections import ensure_sandbox_connection
from migrator.inventory.demo import seed_demo_inventory
from migrator.prompts import services
from migrator.prompts.conversion import convert, validate_config
from migrator.sandbox import catalog as sandbox_catalog
from tests.prompts.conftest import corpus_paths

# Conversion asks the one model catalogue, which merges the /models lists stored in the database.
pytestmark = pytest.mark.django_db

FIRST_INPUT = "Hello! Please reply in JSON if you answer with data."


def _first_call(client: openai.OpenAI, config: dict) -> openai.types.responses.Response:
    return client.responses.create(**config, input=FIRST_INPUT)


def _model_needs_a_person(ledger: list[dict]) -> bool:
    """A placeholder (`<env:…>`) or a model outside the catalogue: the draft says a person must pick it."""
    return any(e["field"] == "model" and e["outcome"] == "needs_decision" for e in ledger)


def _with_stores_of_this_org(client: openai.OpenAI, config: dict) -> dict:
    """Vector stores live in the organisation that made them; the corpus ids point at strangers' stores.

    Stand in one store of the sandbox's own for each, as the migrating organisation would have them."""
    config = copy.deepcopy(config)
    for tool in config.get("tools", []):
        if tool.get("type") == "file_search":
            tool["vector_store_ids"] = [client.vector_stores.create(name=f"stand-in for {vs}").id
                                        for vs in tool["vector_store_ids"]]
    return config


def test_the_reasoning_rule_is_the_same_in_the_domain_and_the_sandbox():
    # The sandbox never imports domain code, so it keeps its own copy of the rule; they must agree.
    assert sandbox_catalog.REASONING_PREFIXES == REASONING_PREFIXES
    for model in [*sandbox_catalog.MODELS, "gpt-5-chat-latest", "o3-mini"]:
        assert sandbox_catalog.is_reasoning(model) == is_reasoning(model), model


@pytest.mark.parametrize(("retired", "successor"), [("gpt-3.5-turbo", "gpt-5.4-mini"),
                                                    ("gpt-4o-2024-05-13", "gpt-5.6-sol")])
def test_sampling_parameters_are_dropped_for_a_reasoning_successor(sandbox, retired, successor):
    result = convert({"id": "asst_x", "model": retired, "instructions": "Be brief.", "temperature": 0.2,
                      "top_p": 0.9})
    assert result.ok and result.kwargs["model"] == successor
    assert "temperature" not in result.kwargs and "top_p" not in result.kwargs
    assert result.kwargs["reasoning"] == {"effort": "low"}
    ledger = {e.field: e for e in result.ledger}
    for key in ("temperature", "top_p"):
        assert ledger[key].outcome == "dropped"
        assert "reasoning model" in ledger[key].reason and "reasoning.effort 'low'" in ledger[key].reason
    assert ledger["reasoning (Responses only)"].outcome == "changed"
    assert validate_config(result.kwargs) == []
    _first_call(sandbox.client(max_retries=0), result.kwargs)


def test_a_reasoning_effort_of_the_source_is_kept_in_place_of_sampling(sandbox):
    result = convert({"model": "gpt-3.5-turbo", "temperature": 0.7, "reasoning_effort": "high"})
    assert result.kwargs["reasoning"] == {"effort": "high"} and "temperature" not in result.kwargs
    assert "reasoning.effort 'high'" in {e.field: e for e in result.ledger}["temperature"].reason


def test_reasoning_effort_on_a_chat_model_is_dropped_not_sent(sandbox):
    result = convert({"model": "gpt-4o", "reasoning_effort": "low", "temperature": 0.3})
    assert "reasoning" not in result.kwargs and result.kwargs["temperature"] == 0.3
    assert {e.field: e for e in result.ledger}["reasoning_effort"].outcome == "dropped"
    _first_call(sandbox.client(max_retries=0), result.kwargs)


@pytest.mark.parametrize(("config", "pointer", "param"), [
    ({"model": "gpt-5.4-mini", "temperature": 0.2}, "/temperature", "temperature"),
    ({"model": "gpt-5.5", "top_p": 0.5}, "/top_p", "top_p"),
    ({"model": "gpt-4o", "reasoning": {"effort": "low"}}, "/reasoning/effort", "reasoning.effort"),
])
def test_valid_means_the_api_accepts_it(sandbox, config, pointer, param):
    problems = validate_config(config)
    assert [p.pointer for p in problems] == [pointer]
    assert "400" in problems[0].message
    with pytest.raises(openai.BadRequestError) as caught:
        _first_call(sandbox.client(max_retries=0), config)
    error = caught.value.body
    assert error["param"] == param and error["code"] == "unsupported_parameter"
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("Unsupported parameter:")


def test_sampling_at_the_default_is_accepted_by_both():
    assert validate_config({"model": "gpt-5.4-mini", "temperature": 1}) == []


@pytest.mark.django_db
@pytest.mark.slow
def test_every_generated_demo_draft_succeeds_on_its_first_call(sandbox, product_owner):
    connection = ensure_sandbox_connection(base_url=sandbox.base_url, api_key=sandbox.api_key)
    seed_demo_inventory(connection=connection)
    client = sandbox.client(max_retries=0)
    drafted, failures = 0, []
    for assistant in Assistant.objects.exclude(status="retired").order_by("pk"):
        try:
            version = services.generate_version(assistant_id=assistant.pk, actor=product_owner)
        except services.ServiceError:
            continue  # not convertible: no draft exists, the assistant page says why
        drafted += 1
        assert validate_config(version.config) == [], assistant.display_name
        try:
            _first_call(client, version.config)
        except openai.APIStatusError as exc:
            failures.append(f"{assistant.display_name} ({version.config.get('model')}): {exc.message}")
    assert drafted >= 20
    assert failures == []


@pytest.mark.usefixtures("need_shared")
def test_every_generated_corpus_draft_succeeds_on_its_first_call(sandbox):
    client = sandbox.client(max_retries=0)
    called, predicted, failures = 0, 0, []
    for path in corpus_paths():
        result = convert(json.loads(path.read_text()))
        if not result.ok:
            continue  # update bodies without a model: rejected with the field named (test_corpus.py)
        ledger = result.ledger_dicts()
        config = _with_stores_of_this_org(client, result.kwargs)
        if _model_needs_a_person(ledger):
            # A placeholder or foreign model cannot be called until someone names the model; the draft says so
            # up front and the API agrees.
            with pytest.raises(openai.NotFoundError):
                _first_call(client, config)
            predicted += 1
            continue
        called += 1
        try:
            _first_call(client, config)
        except openai.APIStatusError as exc:
            failures.append(f"{path.stem} ({config.get('model')}): {exc.message}")
    assert failures == []
    assert called == 39 and predicted == 4
