"""migrator-client against a live migrator and the sandbox: state per mode, tools, sticky releases, the last
good copy on disk, schema checks and the outcome queue that never blocks."""

from __future__ import annotations

import json
import time

import pytest

from migrator.cutover.models import FlowRollout, ServingChange
from migrator_client import Migrator, MigratorError, bucket, check_output
from tests.client.conftest import ramp_to, release_of
from tests.flows.factories import make_version

WEATHER_TOOL = {"type": "function", "name": "get_weather", "description": "Weather for a city.",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                               "additionalProperties": False}, "strict": True}


def test_stateless_flow_sends_the_whole_history_in_input(served_flow, client_for):
    setup = served_flow(mode="stateless")
    m = client_for(setup["token"])
    flow = m.flow("support-web")
    first = flow.respond(subject="user-17", input="Hi, my name is Ada.", state=None)
    assert first.release and first.response.model.startswith("gpt-5.4-mini")
    second = flow.respond(subject="user-17", input="What is my name?", state=first.state)
    assert "Ada" in second.output_text  # the sandbox only knows it from the history the client sent
    history = json.loads(second.state)["h"]
    assert [h.get("role") for h in history if h.get("type", "message") == "message"].count("user") == 2
    assert second.release == first.release and first.role == "production"


def test_conversation_flow_creates_the_conversation_once(served_flow, client_for):
    setup = served_flow(mode="conversation")
    m = client_for(setup["token"])
    flow = m.flow("support-web")
    first = flow.respond(subject="chat-1", input="My name is Grace.", state=None)
    conversation = json.loads(first.state)["c"]
    assert conversation.startswith("conv_")
    second = flow.respond(subject="chat-1", input="What is my name?", state=first.state)
    assert json.loads(second.state)["c"] == conversation
    assert "Grace" in second.output_text
    assert "h" not in json.loads(second.state)  # the conversation holds the history, the state does not


def test_chained_flow_keeps_the_previous_response_id(served_flow, client_for):
    setup = served_flow(mode="previous_response")
    m = client_for(setup["token"])
    flow = m.flow("support-web")
    first = flow.respond(subject="chat-2", input="Remember that the code is 42.", state=None)
    assert json.loads(first.state)["p"] == first.response.id
    second = flow.respond(subject="chat-2", input="What is the code?", state=first.state)
    assert json.loads(second.state)["p"] == second.response.id != first.response.id
    assert "42" in second.output_text


@pytest.mark.parametrize("mode", ["stateless", "conversation", "previous_response"])
def test_the_tool_loop_runs_registered_functions(served_flow, client_for, mode):
    setup = served_flow(mode=mode, config={"tools": [WEATHER_TOOL]})
    m = client_for(setup["token"])
    flow = m.flow("support-web")
    calls = []

    @flow.tool
    def get_weather(city: str) -> dict:
        calls.append(city)
        return {"city": city, "forecast": "sunny, 21 C"}

    reply = flow.respond(subject="u", input="get_weather city=Lisbon", state=None)
    assert calls == ["Lisbon"] and reply.tool_calls == ["get_weather"]
    assert "sunny, 21 C" in reply.output_text  # the sandbox quotes the function output it was sent


def test_a_subject_keeps_its_release_while_the_ramp_moves(served_flow, client_for):
    setup = served_flow(mode="stateless")
    v2 = make_version(setup["assistant"], {"model": "gpt-5.4", "instructions": "v2", "tools": [],
                                           "text": {"format": {"type": "text"}}}, approved=True)
    ramp_to(setup["flow"], v2, 10)
    m = client_for(setup["token"], ttl=0)
    flow = m.flow("support-web")
    on_candidate = next(f"s{i}" for i in range(1000) if bucket("support-web", f"s{i}") < 1000)
    on_production = next(f"s{i}" for i in range(1000) if bucket("support-web", f"s{i}") >= 1000)
    cand = flow.respond(subject=on_candidate, input="Hello", state=None)
    prod = flow.respond(subject=on_production, input="Hello", state=None)
    assert cand.role == "candidate" and prod.role == "production" and cand.release != prod.release
    assert cand.response.model.startswith("gpt-5.4") and prod.response.model.startswith("gpt-5.4-mini")

    # The cutover completes: v2 serves everyone. The production-side conversation stays on v1 for its life.
    r1, r2 = release_of(setup["flow"], setup["v1"]), release_of(setup["flow"], v2)
    FlowRollout.objects.filter(flow=setup["flow"]).update(production=v2, production_release=r2, candidate=None,
                                                          candidate_release=None, percent=0)
    time.sleep(0.05)
    for _ in range(3):  # the background revalidation lands within a request or two
        later = flow.respond(subject=on_production, input="And again", state=prod.state)
        time.sleep(0.2)
    assert later.release == prod.release and not later.switched
    deadline = time.monotonic() + 15
    while True:  # a new conversation takes the new release once the revalidation has landed
        fresh = flow.respond(subject=on_production, input="New chat", state=None)
        if fresh.release == cand.release or time.monotonic() > deadline:
            break
        time.sleep(0.2)
        later = flow.respond(subject=on_production, input="And again", state=prod.state)
        assert later.release == prod.release and not later.switched
    assert fresh.release == cand.release

    # A rollback pulls the release: conversations pinned to it move (and say so).
    FlowRollout.objects.filter(flow=setup["flow"]).update(production=setup["v1"], production_release=r1)
    ServingChange.objects.create(flow=setup["flow"], kind="rollback", from_version=v2, to_version=setup["v1"],
                                 from_release=r2, to_release=r1, reason="set-up: a rollback")
    # The revalidation runs in the background, so poll with a deadline rather than a fixed count of requests:
    # on a loaded machine it can take longer than a request or two to land.
    deadline = time.monotonic() + 15
    while True:
        moved = flow.respond(subject=on_candidate, input="Still there?", state=cand.state)
        if moved.switched or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert moved.release == prod.release and moved.switched


def test_the_last_good_copy_serves_while_migrator_is_down(served_flow, client_for, tmp_path):
    setup = served_flow(mode="stateless")
    up = client_for(setup["token"])
    first = up.flow("support-web").respond(subject="u1", input="Hello", state=None)
    # A new process (nothing in memory) whose migrator does not answer: the copy on disk serves.
    down = client_for(setup["token"], base_url="http://127.0.0.1:9", timeout=0.5)
    reply = down.flow("support-web").respond(subject="u2", input="Hello", state=None)
    assert reply.release == first.release and down.config.stats["served_from_disk"] == 1
    # With no copy at all it says so instead of guessing.
    empty = client_for(setup["token"], base_url="http://127.0.0.1:9", timeout=0.5, cache_dir=tmp_path / "none")
    with pytest.raises(MigratorError, match="unreachable"):
        empty.flow("support-web").respond(subject="u3", input="Hello", state=None)


def test_refusals_from_migrator_are_raised_not_hidden(served_flow, client_for):
    served_flow(mode="stateless")
    m = client_for("mgr_00000000_" + "x" * 43)
    with pytest.raises(MigratorError) as caught:
        m.flow("support-web").respond(subject="u", input="Hello", state=None)
    assert caught.value.code == "invalid_token" and caught.value.status == 401


def test_a_full_outcome_queue_drops_and_counts_without_blocking(served_flow, client_for):
    setup = served_flow(mode="stateless")
    m = client_for(setup["token"], base_url="http://127.0.0.1:9", max_queue=3, cache_dir=False, timeout=0.2)
    started = time.monotonic()
    for i in range(10):
        m.reporter.put("support-web", {"id": str(i)})
    assert time.monotonic() - started < 0.5
    assert m.dropped >= 7 - 1  # the sender may have taken one batch off the queue already
    assert m.close(timeout=1) is False  # migrator is down: closing gives up rather than hanging the app


def test_the_local_schema_check():
    fmt = {"type": "json_schema", "name": "order", "schema": {
        "type": "object", "properties": {"id": {"type": "integer"}, "status": {"enum": ["open", "shipped"]}},
        "required": ["id", "status"], "additionalProperties": False}}
    assert check_output(fmt, '{"id": 3, "status": "open"}') is True
    assert check_output(fmt, '{"id": "3", "status": "open"}') is False
    assert check_output(fmt, '{"id": 3, "status": "lost"}') is False
    assert check_output(fmt, '{"id": 3, "status": "open", "x": 1}') is False
    assert check_output(fmt, "not json") is False
    assert check_output({"type": "json_object"}, "[1]") is False
    assert check_output({"type": "text"}, "anything") is None


def test_the_client_package_depends_on_openai_only():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).parents[2] / "clients/python/pyproject.toml").read_text())["project"]
    assert project["dependencies"] == ["openai>=1.66"]
    source = "\n".join(p.read_text() for p in (Path(__file__).parents[2] / "clients/python/src").rglob("*.py"))
    for forbidden in ("import django", "from django", "import httpx", "from httpx", "import requests"):
        assert forbidden not in source
    assert Migrator.__init__.__kwdefaults__["ttl"] > 0


def test_outcomes_reach_migrator_once_each_with_the_release_and_the_schema_check(served_flow, client_for):
    from django.db.models import Sum

    from migrator.rollouts.models import Outcome, OutcomeMinute

    fmt = {"type": "json_schema", "name": "reply", "strict": True, "schema": {
        "type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"],
        "additionalProperties": False}}
    setup = served_flow(mode="stateless", config={"text": {"format": fmt}})
    m = client_for(setup["token"], send_interval=0.2)
    flow = m.flow("support-web")
    replies = [flow.respond(subject=f"u{i}", input="Hello", state=None) for i in range(5)]
    assert m.flush(timeout=20)
    assert m.reporter.stats["sent"] == 5 and m.reporter.stats["rejected"] == 0
    rows = list(Outcome.objects.values("release", "role", "schema_valid", "error", "input_tokens"))
    assert len(rows) == 5 and {r["release"] for r in rows} == {replies[0].release}
    assert all(r["schema_valid"] is True and r["error"] == "" and r["input_tokens"] > 0 for r in rows)
    assert OutcomeMinute.objects.aggregate(n=Sum("n"))["n"] == 5
