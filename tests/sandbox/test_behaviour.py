"""Behaviour of the sandbox over HTTP with the real SDK (no ../shared needed)."""

from __future__ import annotations

import json
import warnings

import openai
import pytest

from migrator.sandbox import seed_data
from migrator.sandbox.seed import asst_id, thread_id


def test_wrong_key_gets_openai_401(sandbox) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        sandbox.client(api_key="sk-wrong-key").models.list()
    assert caught.value.status_code == 401
    assert caught.value.body["code"] == "invalid_api_key"
    assert set(caught.value.body) == {"message", "type", "param", "code"}


def test_demo_org_is_deterministic(sandbox) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client = sandbox.client()
        names = {a.id: a.name for a in client.beta.assistants.list(limit=100).data}
        assert len(names) >= 30
        assert names[asst_id("billing")] == "Billing Assistant"
        assert asst_id("billing") == "asst_" + asst_id("billing")[5:]  # stable, prefixed
        legacy = client.beta.assistants.retrieve(asst_id("legacy-helpdesk"))
        assert legacy.model == "gpt-4-turbo" and legacy.tool_resources.file_search.vector_store_ids
        docs = client.beta.assistants.retrieve(asst_id("docs-bot"))
        assert docs.tools[0].type == "file_search"
        long = client.beta.threads.messages.list(thread_id(7), limit=100)
        assert len(long.data) >= 30
    assert len(seed_data.ASSISTANTS) >= 30


def test_demo_threads_have_rich_content(sandbox) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client = sandbox.client()
        kinds, annotations, attachments, statuses = set(), set(), 0, set()
        for n in range(0, 320, 2):
            for msg in client.beta.threads.messages.list(thread_id(n), limit=100).data:
                attachments += bool(msg.attachments)
                for part in msg.content:
                    kinds.add(part.type)
                    if part.type == "text":
                        annotations |= {a.type for a in part.text.annotations}
            statuses |= {r.status for r in client.beta.threads.runs.list(thread_id(n), limit=5).data}
    assert {"text", "image_url", "image_file"} <= kinds
    assert {"file_citation", "file_path"} <= annotations
    assert attachments > 0
    assert {"completed", "failed"} <= statuses


def test_conversation_limits_and_order(sandbox_empty) -> None:
    client = sandbox_empty.client()
    too_many = [{"type": "message", "role": "user", "content": str(i)} for i in range(21)]
    with pytest.raises(openai.BadRequestError) as caught:
        client.conversations.create(items=too_many)
    assert caught.value.body["code"] == "array_above_max_length"
    conv = client.conversations.create(items=too_many[:20])
    page = client.conversations.items.list(conv.id, limit=3)
    assert [i.content[0].text for i in page.data] == ["19", "18", "17"]  # default order: desc
    assert page.has_more and page.last_id == page.data[-1].id
    asc = client.conversations.items.list(conv.id, limit=100, order="asc")
    assert [i.content[0].text for i in asc.data][:2] == ["0", "1"] and not asc.has_more


def test_conversation_and_previous_response_are_exclusive(sandbox_empty) -> None:
    client = sandbox_empty.client()
    conv = client.conversations.create()
    first = client.responses.create(model="gpt-4o", input="hi")
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o", input="x", conversation=conv.id, previous_response_id=first.id)
    assert caught.value.body["code"] == "mutually_exclusive_parameters"


def test_lost_state_is_detectable(sandbox_empty) -> None:
    client = sandbox_empty.client()
    conv = client.conversations.create(items=[{"type": "message", "role": "user", "content": "My name is Grace."}])
    kept = client.responses.create(model="gpt-4o", conversation=conv.id, input="What is my name?")
    lost = client.responses.create(model="gpt-4o", input="What is my name?")
    assert "Your name is Grace" in kept.output_text
    assert "I don't know your name" in lost.output_text
    items = client.conversations.items.list(conv.id, order="asc").data
    assert [i.type for i in items] == ["message", "message", "message"]  # input and output appended


def test_model_rules(sandbox_empty) -> None:
    client = sandbox_empty.client()
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model="gpt-3.5-turbo", input="hi")
    assert caught.value.body["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="gpt-4o", input="hi", reasoning={"effort": "high"})
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="gpt-5.4", input="hi", temperature=0.3)
    retired = client.models.retrieve("gpt-4-turbo")
    assert retired.shutdown_date == "2026-10-23"


def test_strict_schema_rules(sandbox_empty) -> None:
    client = sandbox_empty.client()
    loose = {"type": "function", "name": "move", "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o", input="move it", tools=[loose])
    assert "additionalProperties" in caught.value.body["message"]
    ok = client.responses.create(model="gpt-4o", input="please move a: box", tools=[{**loose, "strict": False}])
    assert json.loads(ok.output[0].arguments) == {"a": "box"}


def test_json_object_needs_the_word_json(sandbox_empty) -> None:
    client = sandbox_empty.client()
    with pytest.raises(openai.BadRequestError):
        client.responses.create(model="gpt-4o", input="hello", text={"format": {"type": "json_object"}})


def test_assistant_turn_with_input_text_is_rejected(sandbox_empty) -> None:
    client = sandbox_empty.client()
    with pytest.raises(openai.BadRequestError) as caught:
        client.conversations.create(items=[{"type": "message", "role": "assistant",
                                            "content": [{"type": "input_text", "text": "hi"}]}])
    assert "output_text" in caught.value.body["message"]


def test_assistants_api_off(make_sandbox) -> None:
    running = make_sandbox(assistants_api=False)
    client = running.client()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(openai.NotFoundError) as caught:
            client.beta.assistants.list()
    assert caught.value.body["message"] == "Invalid URL (GET /v1/assistants)"
    assert client.responses.create(model="gpt-4o", input="still here").status == "completed"


def test_rate_limit_headers_and_429(make_sandbox) -> None:
    running = make_sandbox(rpm=3)
    client = running.client()
    raw = client.models.with_raw_response.list()
    assert raw.headers["x-ratelimit-limit-requests"] == "3"
    assert raw.headers["x-ratelimit-remaining-requests"] == "2"
    client.models.list()
    client.models.list()
    with pytest.raises(openai.RateLimitError) as caught:
        client.models.list()
    headers = caught.value.response.headers
    assert int(headers["retry-after"]) >= 1 and int(headers["retry-after-ms"]) > 0
    assert caught.value.body["code"] == "rate_limit_exceeded"


def test_token_rate_limit(make_sandbox) -> None:
    client = make_sandbox(tpm=50).client()
    with pytest.raises(openai.RateLimitError) as caught:
        client.responses.create(model="gpt-4o", input="word " * 400)
    assert caught.value.response.headers["x-ratelimit-limit-tokens"] == "50"


def test_random_failures_are_seeded(make_sandbox) -> None:
    def statuses(seed: int) -> list[int]:
        client = make_sandbox(fail_rate=0.5, seed_random=seed).client()
        out = []
        for _ in range(12):
            try:
                client.models.list()
                out.append(200)
            except openai.InternalServerError as exc:
                out.append(exc.status_code)
        return out

    first = statuses(7)
    assert first == statuses(7)
    assert 200 in first and ({500, 503} & set(first))


@pytest.mark.parametrize("fault,error", [("429", openai.RateLimitError), ("500", openai.InternalServerError),
                                         ("503", openai.InternalServerError)])
def test_fault_header(sandbox, fault: str, error: type[Exception]) -> None:
    client = sandbox.client(default_headers={"x-sandbox-fault": fault})
    with pytest.raises(error):
        client.models.list()
    assert sandbox.client().models.list().data  # only that request


def test_timeout_fault(sandbox) -> None:
    client = sandbox.client(timeout=0.3, default_headers={"x-sandbox-fault": "timeout",
                                                          "x-sandbox-fault-delay-ms": "1000"})
    with pytest.raises(openai.APITimeoutError):
        client.models.list()


def test_sdk_retries_through_faults(make_sandbox) -> None:
    client = make_sandbox(fail_rate=0.3, seed_random=1).client(max_retries=5)
    for _ in range(10):
        assert client.responses.create(model="gpt-4o", input="hi").status == "completed"


def test_run_statuses_move_forward(sandbox_empty) -> None:
    client = sandbox_empty.client()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asst = client.beta.assistants.create(model="gpt-4o", instructions="hi")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "hello"}])
        run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=asst.id)
        seen = [run.status]
        while seen[-1] not in ("completed", "failed", "requires_action"):
            seen.append(client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status)
        assert seen == ["queued", "in_progress", "completed"]
        failing = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=asst.id,
                                                  metadata={"sandbox_outcome": "failed"})
        for _ in range(2):
            final = client.beta.threads.runs.retrieve(failing.id, thread_id=thread.id)
        assert final.status == "failed" and final.last_error.code == "server_error"


def test_reset_restores_the_demo(make_sandbox) -> None:
    running = make_sandbox(seed="demo")
    client = running.client()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client.beta.assistants.delete(asst_id("billing"))
        running.reset("demo")
        assert client.beta.assistants.retrieve(asst_id("billing")).name == "Billing Assistant"
        running.reset("empty")
        assert client.beta.assistants.list().data == []
