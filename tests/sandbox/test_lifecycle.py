"""The rest of the Responses surface: background responses (queued → in_progress → completed, polling,
cancel), ``input_tokens`` (equal to the usage a create reports), ``compact`` (an opaque item a later call
accepts), embedding models in ``/v1/models``, and the code-interpreter stand-in's arithmetic. Each exchange
is validated against the spec in-process, and through Prism where Prism can check it."""

from __future__ import annotations

import openai
import pytest

from tests.sandbox.scenarios import WEATHER
from tests.sandbox.specval import Recorder, SpecValidator

HANDBOOK = "vs_pcxVmMA2zVG0lwEsBeAyCJwu"


def _poll(client: openai.OpenAI, response_id: str) -> list[str]:
    seen = []
    for _ in range(10):
        status = client.responses.retrieve(response_id).status
        seen.append(status)
        if status not in ("queued", "in_progress"):
            break
    return seen


def test_background_moves_through_statuses(sandbox_empty) -> None:
    client = sandbox_empty.client()
    conv = client.conversations.create()
    started = client.responses.create(model="gpt-4o", input="My name is Ada.", background=True,
                                      conversation=conv.id)
    assert started.status == "queued" and started.background is True and started.output == []
    assert client.conversations.items.list(conv.id).data == []  # nothing lands before it completes
    assert _poll(client, started.id) == ["in_progress", "completed"]
    done = client.responses.retrieve(started.id)
    plain = client.responses.create(model="gpt-4o", input="My name is Ada.")
    assert done.output_text.split(" [sandbox")[0] == plain.output_text.split(" [sandbox")[0]
    assert done.usage.input_tokens == plain.usage.input_tokens
    assert len(client.conversations.items.list(conv.id).data) == 2
    with pytest.raises(openai.BadRequestError, match="store"):
        client.responses.create(model="gpt-4o", input="hi", background=True, store=False)


def test_cancel(sandbox_empty) -> None:
    client = sandbox_empty.client()
    queued = client.responses.create(model="gpt-4o", input="hi", background=True)
    cancelled = client.responses.cancel(queued.id)
    assert cancelled.status == "cancelled" and cancelled.output == []
    assert client.responses.retrieve(queued.id).status == "cancelled"  # stays cancelled when polled
    assert client.responses.cancel(queued.id).status == "cancelled"  # idempotent
    running = client.responses.create(model="gpt-4o", input="hi", background=True)
    assert client.responses.retrieve(running.id).status == "in_progress"
    assert client.responses.cancel(running.id).status == "cancelled"
    finished = client.responses.create(model="gpt-4o", input="hi", background=True)
    _poll(client, finished.id)
    assert client.responses.cancel(finished.id).status == "completed"  # a finished one comes back unchanged
    foreground = client.responses.create(model="gpt-4o", input="hi")
    with pytest.raises(openai.BadRequestError, match="synchronous"):
        client.responses.cancel(foreground.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.cancel("resp_missing")


def test_background_stream_runs_to_the_end(sandbox_empty) -> None:
    events = list(sandbox_empty.client().responses.create(model="gpt-4o", input="hi", background=True, stream=True))
    assert events[-1].type == "response.completed" and events[-1].response.background is True


@pytest.mark.parametrize("body", [
    {"input": "Hello there, how are you?"},
    {"input": "Use get_weather city: Paris", "tools": [WEATHER], "instructions": "Be brief."},
    {"input": "Search the docs for refunds", "tools": [{"type": "file_search", "vector_store_ids": [HANDBOOK]}]},
    {"input": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
               {"role": "user", "content": [{"type": "input_text", "text": "and again"}]}]},
])
def test_input_tokens_equal_reported_usage(sandbox, body) -> None:
    client = sandbox.client()
    counted = client.responses.input_tokens.count(model="gpt-4o", **body)
    assert counted.object == "response.input_tokens"
    assert counted.input_tokens == client.responses.create(model="gpt-4o", **body).usage.input_tokens


def test_input_tokens_follow_previous_response(sandbox) -> None:
    client = sandbox.client()
    first = client.responses.create(model="gpt-4o", input="My name is Ada.")
    counted = client.responses.input_tokens.count(model="gpt-4o", input="What is my name?",
                                                  previous_response_id=first.id)
    second = client.responses.create(model="gpt-4o", input="What is my name?", previous_response_id=first.id)
    assert counted.input_tokens == second.usage.input_tokens > first.usage.input_tokens


def test_compaction_is_accepted_later(sandbox) -> None:
    client = sandbox.client()
    first = client.responses.create(model="gpt-4o", input="My name is Ada. Remember that the code is 42.")
    compacted = client.responses.compact(model="gpt-4o", previous_response_id=first.id)
    assert compacted.object == "response.compaction"
    kinds = [o.type for o in compacted.output]
    assert kinds == ["message", "compaction"]
    item = compacted.output[-1]
    assert item.id.startswith("cmp_") and "Ada" not in item.encrypted_content  # opaque
    later = client.responses.create(model="gpt-4o", input=[
        {"role": "user", "content": "My name is Ada. Remember that the code is 42."},
        {"type": "compaction", "id": item.id, "encrypted_content": item.encrypted_content},
        {"role": "user", "content": "What is my name?"},
    ])
    assert "Your name is Ada" in later.output_text and "messages=3" in later.output_text  # assistant turn kept
    with pytest.raises(openai.BadRequestError) as err:
        client.responses.create(model="gpt-4o", input=[{"type": "compaction", "encrypted_content": "forged"}])
    assert err.value.code == "invalid_encrypted_content"


def test_embedding_models_are_listed_and_retrievable(sandbox) -> None:
    client = sandbox.client()
    listed = {m.id for m in client.models.list()}
    for name in ("text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002"):
        assert name in listed
        assert client.models.retrieve(name).id == name
        client.embeddings.create(model=name, input="hi")
    with pytest.raises(openai.BadRequestError, match="embedding model"):
        client.responses.create(model="text-embedding-3-small", input="hi")


@pytest.mark.parametrize("text, printed", [
    ("What is the average of 2 and 4?", "3"),
    ("Compute the sum of 1, 2 and 3", "6"),
    ("calculate the product of 2, 3, and 4", "24"),
    ("calculate the median of 5, 1 and 9", "5"),
    ("calculate the mean of 1.5 and 2", "1.75"),
    ("what is (2+3)*4", "20"),
])
def test_code_interpreter_computes(sandbox, text, printed) -> None:
    out = sandbox.client().responses.create(
        model="gpt-4o", input=text, include=["code_interpreter_call.outputs"],
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}])
    call = next(o for o in out.output if o.type == "code_interpreter_call")
    assert call.outputs[0].logs == printed
    assert f"I ran Python and got {printed}." in out.output_text


def test_code_interpreter_refuses_what_it_cannot_compute(sandbox) -> None:
    out = sandbox.client().responses.create(
        model="gpt-4o", input="Plot the sales chart from the csv", include=["code_interpreter_call.outputs"],
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}])
    call = next(o for o in out.output if o.type == "code_interpreter_call")
    assert "runs no Python" in call.outputs[0].logs
    assert "I could not compute that." in out.output_text and "7.25" not in out.output_text


def lifecycle_tour(client: openai.OpenAI) -> None:
    """Every new endpoint once, for the spec checks below."""
    queued = client.responses.create(model="gpt-4o", input="hi", background=True)
    client.responses.retrieve(queued.id)
    client.responses.cancel(queued.id)
    done = client.responses.create(model="gpt-4o", input="My name is Ada.", background=True)
    client.responses.retrieve(done.id)
    client.responses.retrieve(done.id)
    client.responses.cancel(done.id)
    client.responses.input_tokens.count(model="gpt-4o", input="hello", tools=[WEATHER])
    compacted = client.responses.compact(model="gpt-4o", input=[{"role": "user", "content": "My name is Ada."},
                                                                 {"role": "assistant", "content": "Hi Ada."}])
    client.responses.create(model="gpt-4o", input=[*[o.to_dict(warnings=False) for o in compacted.output],
                                                   {"role": "user", "content": "What is my name?"}])
    client.responses.create(model="gpt-4o", input="hi", metadata={"sandbox_outcome": "failed"})
    client.models.retrieve("text-embedding-3-small")
    client.models.list()


@pytest.mark.contract
def test_lifecycle_matches_the_spec(sandbox, openai_spec) -> None:
    validator = SpecValidator(openai_spec)
    recorder = Recorder()
    lifecycle_tour(sandbox.client(http_client=recorder.http_client()))
    assert len(recorder.exchanges) == 13
    assert [p for ex in recorder.exchanges for p in validator.exchange(ex)] == []


@pytest.mark.contract
@pytest.mark.slow
def test_lifecycle_through_prism(prism_proxy, prism_sandbox) -> None:
    client = openai.OpenAI(base_url=prism_proxy, api_key=prism_sandbox.api_key, max_retries=0, timeout=60)
    try:
        lifecycle_tour(client)
    except openai.APIStatusError as exc:  # Prism's list of violations
        pytest.fail(f"{exc.request.method} {exc.request.url}: {exc.status_code} {exc.response.text[:3000]}")


def test_background_stream_resumes_after_a_sequence_number(sandbox_empty) -> None:
    client = sandbox_empty.client()
    started = client.responses.create(model="gpt-4o", input="Hello, my name is Ada.", background=True)
    assert started.status == "queued"
    resumed = list(client.responses.retrieve(started.id, stream=True, starting_after=3))
    assert [e.sequence_number for e in resumed] == list(range(4, 4 + len(resumed)))
    assert resumed[-1].type == "response.completed" and resumed[-1].response.id == started.id
    whole = list(client.responses.retrieve(started.id, stream=True))
    assert [e.sequence_number for e in whole[4:]] == [e.sequence_number for e in resumed]
    assert "".join(e.delta for e in whole if e.type == "response.output_text.delta") == resumed[-1].response.output_text
    assert client.responses.retrieve(started.id).status == "completed"
    foreground = client.responses.create(model="gpt-4o", input="hi")
    with pytest.raises(openai.BadRequestError, match="background=true"):
        client.responses.retrieve(foreground.id, stream=True)
