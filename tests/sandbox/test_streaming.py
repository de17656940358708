"""Streaming (``stream=true``): every event of recorded streams validates against the spec's
``ResponseStreamEvent`` schemas, deltas rebuild the final response exactly, the official SDK's
``responses.create(stream=True)``, ``responses.stream()`` and ``responses.parse()`` work, and the stream
faults (delay, cut, drop rate, mid-stream error, 429 before the first byte) behave as documented."""

from __future__ import annotations

import json
import time

import openai
import pytest
from pydantic import BaseModel

from tests.sandbox import streamcheck
from tests.sandbox.scenarios import SCHEMA, WEATHER
from tests.sandbox.specval import SpecValidator

HANDBOOK = "vs_pcxVmMA2zVG0lwEsBeAyCJwu"  # demo vector store "handbook" (docs/sandbox.md)
TIME = {"type": "function", "name": "get_time", "strict": True,
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"],
                       "additionalProperties": False}}

BODIES = {
    "text": {"model": "gpt-4o", "input": "Hello! My name is Ada and I like tea.", "instructions": "Be brief."},
    "two_calls": {"model": "gpt-4.1", "input": "Use get_weather city: Paris and get_time zone: CET",
                  "tools": [WEATHER, TIME]},
    "tools": {"model": "gpt-4o", "input": "Search the docs for the refund policy and calculate the average of 2 and 4",
              "include": ["file_search_call.results", "code_interpreter_call.outputs"],
              "tools": [{"type": "file_search", "vector_store_ids": [HANDBOOK]},
                        {"type": "code_interpreter", "container": {"type": "auto"}}]},
    "structured": {"model": "gpt-4o-mini", "input": "Rate this stream",
                   "text": {"format": {"type": "json_schema", "name": "rating", "schema": SCHEMA, "strict": True}}},
    "incomplete": {"model": "gpt-4o", "input": "Tell me a long story " * 10, "max_output_tokens": 16},
    "failed": {"model": "gpt-4o", "input": "hi", "metadata": {"sandbox_outcome": "failed"}},
    "reasoning": {"model": "gpt-5.4", "input": "Plan a trip", "reasoning": {"effort": "low"}},
}


@pytest.fixture(scope="module")
def validator(openai_spec: dict) -> SpecValidator:
    return SpecValidator(openai_spec)


@pytest.mark.contract
@pytest.mark.parametrize("case", sorted(BODIES))
def test_recorded_stream_matches_the_spec_and_rebuilds_the_response(sandbox, validator, case) -> None:
    body = BODIES[case]
    events = streamcheck.record(sandbox.base_url, sandbox.api_key, body)
    assert streamcheck.violations(validator, events) == []
    streamcheck.check_order(events)
    final = events[-1]["response"]
    assert streamcheck.rebuild(events) == final["output"]
    assert events[0]["response"]["id"] == final["id"]
    # the stream and a plain call say the same (ids differ, content does not)
    plain = sandbox.client().responses.create(**body).to_dict()
    assert final["status"] == plain["status"] and final.get("usage") == plain.get("usage")

    def content(output: list[dict]) -> list:
        return [(o["type"], o.get("arguments"), o.get("code"), [p.get("text") for p in o.get("content") or []])
                for o in output]

    assert content(final["output"]) == content(plain["output"])
    stored = sandbox.client().responses.retrieve(final["id"]).to_dict()
    assert stored["status"] == final["status"] and content(stored["output"]) == content(final["output"])


def test_event_kinds_per_case(sandbox) -> None:
    kinds = {case: [e["type"] for e in streamcheck.record(sandbox.base_url, sandbox.api_key, body)]
             for case, body in BODIES.items()}
    assert kinds["text"][-1] == "response.completed" and "response.output_text.delta" in kinds["text"]
    assert kinds["two_calls"].count("response.function_call_arguments.done") == 2
    assert "response.output_text.delta" not in kinds["two_calls"]
    for kind in ("response.file_search_call.searching", "response.code_interpreter_call_code.delta",
                 "response.code_interpreter_call.interpreting", "response.output_text.annotation.added"):
        assert kind in kinds["tools"]
    assert kinds["incomplete"][-1] == "response.incomplete"
    assert kinds["failed"] == ["response.created", "response.in_progress", "response.failed"]


def test_sdk_create_stream_and_stream_helper(sandbox) -> None:
    client = sandbox.client()
    plain = client.responses.create(**BODIES["text"])
    streamed = list(client.responses.create(**BODIES["text"], stream=True))
    assert streamed[-1].type == "response.completed"
    text = "".join(e.delta for e in streamed if e.type == "response.output_text.delta")
    assert text == plain.output_text == streamed[-1].response.output_text

    with client.responses.stream(**BODIES["two_calls"]) as stream:
        deltas = [e for e in stream if e.type == "response.function_call_arguments.delta"]
        final = stream.get_final_response()
    calls = [o for o in final.output if o.type == "function_call"]
    assert [c.name for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0].arguments)["city"] == "Paris" and deltas

    with client.responses.stream(**BODIES["tools"]) as stream:
        final = stream.get_final_response()
    assert "I ran Python and got 3." in final.output_text


class Rating(BaseModel):
    answer: str
    score: int


def test_sdk_parse_and_structured_stream(sandbox) -> None:
    client = sandbox.client()
    parsed = client.responses.parse(model="gpt-4o-mini", input="Rate this: great", text_format=Rating)
    assert isinstance(parsed.output_parsed, Rating) and parsed.output_parsed.answer
    with client.responses.stream(model="gpt-4o-mini", input="Rate this: great", text_format=Rating) as stream:
        final = stream.get_final_response()
    assert final.output_parsed == parsed.output_parsed


def test_follow_up_after_a_stream_keeps_state(sandbox) -> None:
    client = sandbox.client()
    first = list(client.responses.create(model="gpt-4o", input="My name is Ada.", stream=True))[-1].response
    second = client.responses.create(model="gpt-4o", input="What is my name?", previous_response_id=first.id,
                                     stream=True)
    assert "Your name is Ada" in list(second)[-1].response.output_text


# --- faults ------------------------------------------------------------------------------------
def test_429_before_the_first_byte(sandbox) -> None:
    client = sandbox.client(default_headers={"x-sandbox-fault": "429"})
    with pytest.raises(openai.RateLimitError) as err:
        client.responses.create(model="gpt-4o", input="hi", stream=True)
    assert err.value.response.headers["retry-after"] == "1"


def test_stream_cut_mid_way(sandbox) -> None:
    client = sandbox.client(default_headers={"x-sandbox-fault": "stream-cut", "x-sandbox-fault-after": "5"})
    seen = []
    with pytest.raises(openai.APIConnectionError):
        for event in client.responses.create(**BODIES["text"], stream=True):
            seen.append(event)
    assert [e.sequence_number for e in seen] == [0, 1, 2, 3, 4]
    # only the answer was cut: the response itself completed and is stored
    assert sandbox.client().responses.retrieve(seen[0].response.id).status == "completed"


def test_error_mid_stream(sandbox, validator) -> None:
    headers = {"x-sandbox-fault": "stream-error", "x-sandbox-fault-after": "6"}
    events = streamcheck.record(sandbox.base_url, sandbox.api_key, BODIES["text"], headers)
    assert [e["type"] for e in events][-1] == "error" and len(events) == 7
    assert streamcheck.violations(validator, events) == []
    streamcheck.check_order(events)
    assert sandbox.client().responses.retrieve(events[0]["response"]["id"]).status == "failed"
    client = sandbox.client(default_headers=headers)
    with pytest.raises(openai.APIError, match="stream-error"):
        list(client.responses.create(**BODIES["text"], stream=True))


def test_stream_faults_need_stream(sandbox) -> None:
    client = sandbox.client(default_headers={"x-sandbox-fault": "stream-cut"})
    with pytest.raises(openai.BadRequestError, match="stream=true"):
        client.responses.create(model="gpt-4o", input="hi")


def test_stream_delay_spreads_events(sandbox) -> None:
    client = sandbox.client(default_headers={"x-sandbox-stream-delay-ms": "40"})
    started = time.perf_counter()
    stamps = [time.perf_counter() - started for _ in client.responses.create(model="gpt-4o", input="hi", stream=True)]
    assert len(stamps) > 8
    # the server pauses 40 ms before every event after the first: the last cannot arrive sooner than that
    assert stamps[-1] >= 0.04 * (len(stamps) - 1)


def test_drop_rate_is_seeded(make_sandbox) -> None:
    def outcomes() -> list[str]:
        running = make_sandbox(stream_drop_rate=0.5, seed_random=7)
        client = running.client()
        found = []
        for _ in range(8):
            try:
                list(client.responses.create(model="gpt-4o", input="hi", stream=True))
                found.append("ok")
            except openai.APIConnectionError:
                found.append("cut")
        running.stop()
        return found

    first = outcomes()
    assert "ok" in first and "cut" in first
    assert outcomes() == first
