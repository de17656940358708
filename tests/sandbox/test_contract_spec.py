"""The scenario tour against the sandbox, every exchange validated against the OpenAI spec (jsonschema).

Skips when ``../shared/openai-openapi/openapi.json`` is absent."""

from __future__ import annotations

import pytest

from tests.sandbox import scenarios
from tests.sandbox.specval import Recorder, SpecValidator

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def validator(openai_spec: dict) -> SpecValidator:
    return SpecValidator(openai_spec)


def _violations(recorder: Recorder, validator: SpecValidator) -> list[str]:
    found = []
    for ex in recorder.exchanges:
        found += [f"{ex.method} {ex.path} -> {ex.status}: {p}" for p in validator.exchange(ex)]
    return found


def test_full_tour_matches_spec(sandbox, validator: SpecValidator) -> None:
    recorder = Recorder()
    scenarios.full_tour(sandbox.client(http_client=recorder.http_client()))
    assert len(recorder.exchanges) > 50
    assert _violations(recorder, validator) == []


@pytest.mark.slow
def test_demo_data_matches_spec(sandbox, validator: SpecValidator) -> None:
    recorder = Recorder()
    client = sandbox.client(http_client=recorder.http_client())
    assert scenarios.demo_tour(client, range(0, 320, 3)) > 500
    with pytest.warns(DeprecationWarning):
        client.beta.assistants.list(limit=100)
    client.vector_stores.list()
    client.files.list()
    client.models.list()
    assert _violations(recorder, validator) == []


def test_error_bodies_match_spec(sandbox, validator: SpecValidator) -> None:
    import openai

    recorder = Recorder()
    client = sandbox.client(http_client=recorder.http_client())
    for call in (
        lambda: client.responses.retrieve("resp_missing"),
        lambda: client.responses.create(model="gpt-4o", input=123),  # type: ignore[arg-type]
        lambda: client.responses.create(model="gpt-4-turbo", input="hi"),
        lambda: client.conversations.items.create("conv_missing", items=[]),
    ):
        with pytest.raises(openai.APIStatusError):
            call()
    assert [ex.status for ex in recorder.exchanges] == [404, 400, 404, 404]
    for ex in recorder.exchanges:
        assert validator.component("ErrorResponse", ex.response_body) == []


def test_request_violations_are_detected(validator: SpecValidator) -> None:
    """The validator itself catches malformed bodies (so a passing tour means something)."""
    bad = validator.component("CreateResponse", {"model": "gpt-4o", "input": 123})
    assert bad
    no_name = validator.component("CreateResponse", {"model": "gpt-4o", "tools": [{"type": "function", "parameters": {}}]})
    assert no_name
    assert validator.component("ConversationItemList", {"object": "list", "data": [], "has_more": "no"})
