"""Fast unit tests: the deterministic model, schema generation, strict rules, and bodies checked against the
``openai`` package's own types (always run; no ../shared, no server)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import jsonschema
import pytest
from openai.types.beta import Assistant, Thread
from openai.types.beta.threads import Message, Run
from openai.types.beta.threads.runs import RunStep
from openai.types.conversations import ConversationItemList
from openai.types.responses import Response

from migrator.sandbox import responses, seed_data
from migrator.sandbox.app import SandboxApp
from migrator.sandbox.common import Ctx
from migrator.sandbox.config import SandboxConfig
from migrator.sandbox.model import Model, Request, Tool, Turn, count_tokens
from migrator.sandbox.schemagen import generate
from migrator.sandbox.tools import strict_problem

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "assistants"


@pytest.fixture(scope="module")
def app() -> SandboxApp:
    return SandboxApp(SandboxConfig(state=str(Path(tempfile.mkdtemp()) / "unit.sqlite3"), seed="demo"))


def ctx(app: SandboxApp, body: dict | None = None, query: dict | None = None) -> Ctx:
    return Ctx(app.store, app.model, app.config, "POST", "", query or {}, body=body)


def all_function_schemas() -> list[dict]:
    schemas = [t["function"].get("parameters") or {} for a in seed_data.ASSISTANTS for t in a.get("tools") or []
               if t["type"] == "function"]
    if CORPUS.is_dir():
        for path in sorted(CORPUS.glob("*.json")):
            for tool in json.loads(path.read_text())["assistant"].get("tools") or []:
                fn = tool.get("function") if isinstance(tool, dict) else None
                if isinstance(fn, dict) and isinstance(fn.get("parameters"), dict):
                    schemas.append(fn["parameters"])
    return schemas


def test_generated_arguments_validate() -> None:
    schemas = all_function_schemas()
    assert len(schemas) >= 10
    for schema in schemas:
        value = generate(schema, "seed", {"city": "Paris"})
        jsonschema.validate(value, schema)


def test_generation_is_deterministic() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}, "s": {"type": "string"}}}
    assert generate(schema, "a") == generate(schema, "a")


def test_strict_rules() -> None:
    assert strict_problem({"type": "object", "properties": {"a": {"type": "string"}}}) is not None
    ok = {"type": "object", "properties": {"a": {"type": ["string", "null"]}}, "required": ["a"],
          "additionalProperties": False}
    assert strict_problem(ok) is None
    assert "default" in (strict_problem({**ok, "properties": {"a": {"type": "string", "default": "x"}}}) or "")


def test_model_calls_named_function_and_uses_output() -> None:
    model = Model()
    tool = Tool("function", name="lookup_order", parameters={
        "type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]})
    first = model.run(Request("gpt-4o", None, [Turn("message", "user", "lookup order order_id=ORD-1")], [tool]))
    assert first.outputs[0].kind == "function_call"
    assert json.loads(first.outputs[0].arguments) == {"order_id": "ORD-1"}
    history = [Turn("message", "user", "lookup order"), Turn("function_call", name="lookup_order", call_id="c1"),
               Turn("function_call_output", call_id="c1", text="shipped")]
    second = model.run(Request("gpt-4o", None, history, [tool]))
    assert "shipped" in second.outputs[-1].text
    assert model.run(Request("gpt-4o", None, history, [tool])).outputs[-1].text == second.outputs[-1].text


def test_usage_counts_text() -> None:
    result = Model().run(Request("gpt-4o", "Be brief.", [Turn("message", "user", "one two three")]))
    assert result.input_tokens == count_tokens("Be brief.") + count_tokens("one two three") + 4
    assert result.output_tokens == count_tokens(result.outputs[-1].text)


def test_bodies_fit_the_sdk_types(app: SandboxApp) -> None:
    resp = responses.create_response(ctx(app, {"model": "gpt-4o", "input": "hello", "store": True}))
    Response.model_validate(resp)
    conv = responses.create_conversation(ctx(app, {"items": [{"role": "user", "content": "hi"}]}))
    listing = responses.list_items(ctx(app, query={}), conv["id"])
    ConversationItemList.model_validate(listing)
    from migrator.sandbox import assistants
    from migrator.sandbox.seed import asst_id, thread_id

    Assistant.model_validate(assistants.retrieve_assistant(ctx(app), asst_id("billing")))
    Thread.model_validate(assistants.retrieve_thread(ctx(app), thread_id(3)))
    for msg in assistants.list_messages(ctx(app, query={"limit": "100"}), thread_id(7))["data"]:
        Message.model_validate(msg)
    for run in assistants.list_runs(ctx(app, query={}), thread_id(7))["data"]:
        Run.model_validate(run)
        for step in assistants.list_steps(ctx(app, query={}), thread_id(7), run["id"])["data"]:
            RunStep.model_validate(step)


def test_a_one_process_sandbox_takes_new_options_on_reset(tmp_path: Path) -> None:
    """``POST /_sandbox/reset`` with ``options``: as if started with them (the test pool's sandboxes rely on
    it); the defaults for whatever it leaves out; refused where several processes serve."""
    from starlette.testclient import TestClient

    auth = {"Authorization": "Bearer sk-sandbox"}
    one = TestClient(SandboxApp(SandboxConfig(state=str(tmp_path / "one.sqlite3"), seed="empty", workers=1)))

    def reset(client: TestClient, **body: object) -> int:
        return client.post("/_sandbox/reset", json=body, headers=auth).status_code

    def models(client: TestClient) -> list[int]:
        return [client.get("/v1/models", headers=auth).status_code for _ in range(3)]

    assert reset(one, seed="empty", options={"rpm": 2}) == 200
    assert models(one) == [200, 200, 429]
    assert reset(one, seed="empty", options={"assistants_api": False}) == 200  # rpm back to its default
    assert models(one) == [200, 200, 200]
    assert one.get("/v1/assistants", headers=auth).status_code == 404
    assert reset(one, seed="demo", options={"fail_rate": 0.5, "seed_random": 7}) == 200
    first = models(one) + models(one)
    assert reset(one, seed="demo", options={"fail_rate": 0.5, "seed_random": 7}) == 200
    assert models(one) + models(one) == first and 200 in first and len(set(first)) > 1
    assert reset(one, seed="empty") == 200  # without options: the options stay
    assert len(set(models(one) + models(one) + models(one))) > 1
    assert reset(one, seed="empty", options={}) == 200  # every option back to its default
    assert models(one) + models(one) == [200] * 6
    assert one.get("/v1/assistants", headers=auth).json()["data"] == []
    assert reset(one, seed="empty", options={"rpm": "many"}) == 400
    assert reset(one, seed="empty", options={"workers": 3}) == 400

    several = TestClient(SandboxApp(SandboxConfig(state=str(tmp_path / "two.sqlite3"), seed="empty")))
    assert reset(several, seed="empty", options={"rpm": 2}) == 409
    assert reset(several, seed="empty") == 200
