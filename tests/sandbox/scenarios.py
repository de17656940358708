"""A tour of every endpoint the sandbox serves, driven by the real SDK.

The same tour runs against the sandbox directly (with in-process spec validation of each exchange) and
through Prism's validating proxy.  Each step asserts behaviour too, so the tour doubles as a smoke test.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

from migrator.sandbox.seed import asst_id

WEATHER = {
    "type": "function", "name": "get_weather", "description": "Weather for a city.", "strict": True,
    "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                    "unit": {"type": "string", "enum": ["c", "f"]}},
                   "required": ["city", "unit"], "additionalProperties": False},
}
SCHEMA = {"type": "object", "additionalProperties": False,
          "properties": {"answer": {"type": "string"}, "score": {"type": "integer", "minimum": 1, "maximum": 5}},
          "required": ["answer", "score"]}


def responses_tour(client: Any) -> dict[str, Any]:
    first = client.responses.create(model="gpt-4o", input="My name is Ada. Hello!", instructions="Be brief.",
                                    metadata={"case": "tour"}, store=True)
    assert first.status == "completed" and first.usage.total_tokens > 0
    second = client.responses.create(model="gpt-4o", input="What is my name?", previous_response_id=first.id)
    assert "Your name is Ada" in second.output_text
    assert client.responses.retrieve(second.id).id == second.id
    items = client.responses.input_items.list(second.id, limit=5, order="asc")
    assert items.data and items.data[0].type == "message"

    call = client.responses.create(model="gpt-4.1", input="Use get_weather for city: Paris", tools=[WEATHER],
                                   tool_choice="auto", parallel_tool_calls=True)
    fc = next(o for o in call.output if o.type == "function_call")
    assert json.loads(fc.arguments)["city"] == "Paris"
    done = client.responses.create(model="gpt-4.1", previous_response_id=call.id, tools=[WEATHER],
                                   input=[{"type": "function_call_output", "call_id": fc.call_id, "output": "21C sunny"}])
    assert "21C sunny" in done.output_text

    structured = client.responses.create(
        model="gpt-4o-mini", input=[{"role": "user", "content": [{"type": "input_text", "text": "Rate this tour"}]}],
        text={"format": {"type": "json_schema", "name": "rating", "schema": SCHEMA, "strict": True}},
    )
    parsed = json.loads(structured.output_text)
    assert set(parsed) == {"answer", "score"} and 1 <= parsed["score"] <= 5
    as_json = client.responses.create(model="gpt-4o-mini", input="Reply in JSON please",
                                      text={"format": {"type": "json_object"}})
    assert isinstance(json.loads(as_json.output_text), dict)
    reasoning = client.responses.create(model="gpt-5.4", input="Plan a trip", reasoning={"effort": "low"},
                                        max_output_tokens=2000, truncation="auto")
    assert reasoning.usage.output_tokens_details.reasoning_tokens > 0
    short = client.responses.create(model="gpt-4o", input="Tell me a long story " * 20, max_output_tokens=16)
    assert short.status == "incomplete" and short.incomplete_details.reason == "max_output_tokens"

    conv = client.conversations.create(metadata={"topic": "tour"}, items=[
        {"type": "message", "role": "user", "content": "My favourite colour is teal."},
        {"type": "message", "role": "assistant", "content": "Noted."},
    ])
    added = client.conversations.items.create(conv.id, items=[
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"note {i}"}]}
        for i in range(20)
    ])
    assert len(added.data) == 20
    reply = client.responses.create(model="gpt-4o", conversation=conv.id, input="What is my favourite colour?")
    assert "teal" in reply.output_text
    page = client.conversations.items.list(conv.id, limit=5)
    assert page.has_more and len(page.data) == 5 and page.data[0].type == "message"
    page2 = client.conversations.items.list(conv.id, limit=5, after=page.last_id, order="desc")
    assert page2.data[0].id != page.data[0].id
    item = client.conversations.items.retrieve(page.data[-1].id, conversation_id=conv.id)
    assert item.id == page.data[-1].id
    client.conversations.items.delete(item.id, conversation_id=conv.id)
    assert client.conversations.update(conv.id, metadata={"topic": "done"}).metadata == {"topic": "done"}
    assert client.conversations.retrieve(conv.id).id == conv.id
    client.responses.delete(first.id)
    assert client.conversations.delete(conv.id).deleted
    return {"response": second.id}


def files_tour(client: Any, content_client: Any = None) -> dict[str, Any]:
    """``content_client`` reads file bytes: the spec declares ``application/json`` for
    ``GET /files/{id}/content`` while the API (and the sandbox) send the raw bytes, so Prism can't check it."""
    uploaded = client.files.create(file=("faq.md", b"Refunds take 5 days.\n\nShipping is free over 50 EUR."),
                                   purpose="assistants")
    assert client.files.retrieve(uploaded.id).bytes == uploaded.bytes
    assert (content_client or client).files.content(uploaded.id).read().startswith(b"Refunds")
    assert any(f.id == uploaded.id for f in client.files.list(purpose="assistants").data)
    store = client.vector_stores.create(name="tour", file_ids=[uploaded.id])
    assert client.vector_stores.retrieve(store.id).file_counts.completed == 1
    assert client.vector_stores.files.list(store.id).data[0].id == uploaded.id
    assert client.vector_stores.list(limit=2).data
    found = client.responses.create(
        model="gpt-4o", input="Search the docs: how long do refunds take?", include=["file_search_call.results"],
        tools=[{"type": "file_search", "vector_store_ids": [store.id], "max_num_results": 5}],
    )
    call = next(o for o in found.output if o.type == "file_search_call")
    assert call.results and call.results[0].file_id == uploaded.id
    message = next(o for o in found.output if o.type == "message")
    assert message.content[0].annotations[0].type == "file_citation"
    code = client.responses.create(
        model="gpt-4o", input="Calculate 6*7 please", include=["code_interpreter_call.outputs"],
        tools=[{"type": "code_interpreter", "container": {"type": "auto", "file_ids": [uploaded.id]}}],
    )
    ci = next(o for o in code.output if o.type == "code_interpreter_call")
    assert ci.outputs[0].logs == "42"
    models = client.models.list()
    assert any(m.id == "gpt-4-turbo" for m in models.data)
    assert client.models.retrieve("gpt-3.5-turbo").id == "gpt-3.5-turbo"
    return {"file": uploaded.id, "vector_store": store.id}


def assistants_tour(client: Any) -> dict[str, Any]:
    beta = client.beta
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        page = beta.assistants.list(limit=10, order="asc")
        assert len(page.data) == 10 and page.has_more
        later = beta.assistants.list(limit=10, order="asc", after=page.data[-1].id)
        assert later.data[0].id != page.data[0].id
        earlier = beta.assistants.list(limit=3, order="asc", before=later.data[0].id)
        assert earlier.data[-1].id == page.data[-1].id
        billing = beta.assistants.retrieve(asst_id("billing"))
        assert billing.name == "Billing Assistant"
        mine = beta.assistants.create(model="gpt-4o", name="Tour", instructions="Say hi.",
                                      tools=[{"type": "code_interpreter"}], metadata={"k": "v"},
                                      response_format={"type": "json_object"})
        mine = beta.assistants.update(mine.id, description="updated", response_format="auto")
        assert mine.description == "updated"
        thread = beta.threads.create(messages=[{"role": "user", "content": "Hi there"}], metadata={"a": "b"})
        beta.threads.update(thread.id, metadata={"a": "c"})
        assert beta.threads.retrieve(thread.id).metadata == {"a": "c"}
        msg = beta.threads.messages.create(thread.id, role="user", content=[
            {"type": "text", "text": "please get_invoice invoice_id=INV-123456"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
        ])
        assert beta.threads.messages.retrieve(msg.id, thread_id=thread.id).id == msg.id
        run = beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=billing.id, poll_interval_ms=10)
        assert run.status == "requires_action"
        calls = run.required_action.submit_tool_outputs.tool_calls
        run = beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id, thread_id=thread.id, poll_interval_ms=10,
            tool_outputs=[{"tool_call_id": c.id, "output": "paid in full"} for c in calls])
        assert run.status == "completed" and run.usage.total_tokens > 0
        messages = beta.threads.messages.list(thread.id, order="desc", limit=1)
        assert "paid in full" in messages.data[0].content[0].text.value
        steps = beta.threads.runs.steps.list(run.id, thread_id=thread.id)
        assert {s.type for s in steps.data} == {"tool_calls", "message_creation"}
        assert beta.threads.runs.list(thread.id).data[0].id == run.id
        other = beta.threads.runs.create(thread_id=thread.id, assistant_id=mine.id)
        assert beta.threads.runs.cancel(other.id, thread_id=thread.id).status == "cancelled"
        assert beta.assistants.delete(mine.id).deleted
        assert beta.threads.delete(thread.id).deleted
    return {"run": run.id}


def full_tour(client: Any, content_client: Any = None) -> dict[str, Any]:
    return {**responses_tour(client), **files_tour(client, content_client), **assistants_tour(client)}


def demo_tour(client: Any, threads: range | list[int] = range(0, 320, 7)) -> int:
    """Read demo threads (messages with images, attachments and citations; runs; steps)."""
    from migrator.sandbox.seed import thread_id

    seen = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for n in threads:
            tid = thread_id(n)
            assert client.beta.threads.retrieve(tid).id == tid
            seen += len(client.beta.threads.messages.list(tid, limit=100, order="asc").data)
            for run in client.beta.threads.runs.list(tid, limit=100).data:
                client.beta.threads.runs.steps.list(run.id, thread_id=tid)
    return seen
