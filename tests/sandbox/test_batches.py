"""The sandbox's Batch API: a purpose=batch JSONL upload, a batch that moves validating → in_progress →
finalizing → completed one read at a time, output and error files whose answers equal direct
``/v1/responses`` calls, cancel, a file that fails validation naming its lines, and the list. Every exchange is
validated against the OpenAI spec in-process, and through Prism."""

from __future__ import annotations

import io
import json

import openai
import pytest

from tests.sandbox.specval import Recorder, SpecValidator

QUESTIONS = ["What is the capital of France?", "Say hello to Ada.", "What is 2 + 2?"]


def _jsonl(lines: list[dict]) -> io.BytesIO:
    buffer = io.BytesIO(("\n".join(json.dumps(line) for line in lines) + "\n").encode())
    buffer.name = "requests.jsonl"
    return buffer


def _line(custom_id: str, body: dict) -> dict:
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/responses", "body": body}


def _poll(client: openai.OpenAI, batch_id: str) -> list[str]:
    seen = []
    for _ in range(10):
        batch = client.batches.retrieve(batch_id)
        seen.append(batch.status)
        if batch.status in ("completed", "failed", "cancelled", "expired"):
            break
    return seen


def batch_tour(client: openai.OpenAI, content_client: openai.OpenAI | None = None) -> dict:
    """``content_client`` reads the result files: the spec declares ``application/json`` for
    ``GET /files/{id}/content`` while the API (and the sandbox) send the raw JSONL, so Prism can't check it."""
    reader = content_client or client
    bodies = [{"model": "gpt-4o", "input": q, "instructions": "Be brief."} for q in QUESTIONS]
    lines = [_line(f"case-{i}", b) for i, b in enumerate(bodies)]
    lines.append(_line("bad-model", {"model": "no-such-model", "input": "hi"}))
    upload = client.files.create(file=_jsonl(lines), purpose="batch")
    assert upload.purpose == "batch" and upload.bytes > 0
    batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/responses", completion_window="24h",
                                  metadata={"run": "tour"})
    assert batch.status == "validating" and batch.input_file_id == upload.id and batch.metadata == {"run": "tour"}
    assert _poll(client, batch.id) == ["in_progress", "finalizing", "completed"]
    done = client.batches.retrieve(batch.id)
    assert done.request_counts.total == 4 and done.request_counts.completed == 3 and done.request_counts.failed == 1
    assert done.completed_at and done.output_file_id and done.error_file_id and done.model == "gpt-4o"
    assert done.usage.input_tokens > 0 and done.usage.output_tokens > 0
    output = [json.loads(t) for t in reader.files.content(done.output_file_id).text.splitlines()]
    errors = [json.loads(t) for t in reader.files.content(done.error_file_id).text.splitlines()]
    answers = {row["custom_id"]: row["response"]["body"] for row in output}
    assert set(answers) == {"case-0", "case-1", "case-2"}
    assert all(row["response"]["status_code"] == 200 and row["error"] is None for row in output)
    assert errors[0]["custom_id"] == "bad-model" and errors[0]["response"]["status_code"] == 404
    assert errors[0]["response"]["body"]["error"]["code"] == "model_not_found"
    # The same answers as direct calls with the same bodies.
    for i, body in enumerate(bodies):
        direct = client.responses.create(**body)
        assert answers[f"case-{i}"]["output"][0]["content"][0]["text"] == direct.output_text
        assert answers[f"case-{i}"]["usage"]["input_tokens"] == direct.usage.input_tokens

    # Cancel: cancelling, then cancelled on the next read, nothing run; a finished batch cannot be cancelled.
    second = client.batches.create(input_file_id=upload.id, endpoint="/v1/responses", completion_window="24h")
    assert client.batches.cancel(second.id).status == "cancelling"
    assert client.batches.retrieve(second.id).status == "cancelled"
    assert client.batches.cancel(second.id).status == "cancelled"  # idempotent
    gone = client.batches.retrieve(second.id)
    assert gone.cancelled_at and not gone.output_file_id and gone.request_counts.completed == 0
    with pytest.raises(openai.BadRequestError, match="completed"):
        client.batches.cancel(done.id)

    # A file that breaks the format fails validation, each error naming its line.
    broken = client.files.create(file=_jsonl([lines[0], lines[0], {**lines[1], "url": "/v1/embeddings"}]),
                                 purpose="batch")
    failed = client.batches.create(input_file_id=broken.id, endpoint="/v1/responses", completion_window="24h")
    assert _poll(client, failed.id) == ["failed"]
    problems = client.batches.retrieve(failed.id).errors.data
    assert [(p.line, p.param) for p in problems] == [(2, "custom_id"), (3, "url")]

    listed = client.batches.list(limit=2)
    assert [b.id for b in listed.data] == [failed.id, second.id] and listed.has_more is True
    return {"batch": done.id}


def test_batch_errors_are_refused_saying_what(sandbox_empty) -> None:
    client = sandbox_empty.client()
    plain = client.files.create(file=_jsonl([_line("a", {"model": "gpt-4o", "input": "hi"})]), purpose="assistants")
    with pytest.raises(openai.BadRequestError, match="purpose 'batch'"):
        client.batches.create(input_file_id=plain.id, endpoint="/v1/responses", completion_window="24h")
    with pytest.raises(openai.NotFoundError):
        client.batches.create(input_file_id="file-nope", endpoint="/v1/responses", completion_window="24h")
    with pytest.raises(openai.BadRequestError, match="completion_window"):
        client.batches.create(input_file_id=plain.id, endpoint="/v1/responses", completion_window="1h")  # type: ignore[arg-type]
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_nope")


def test_batch_tour(sandbox_empty) -> None:
    assert batch_tour(sandbox_empty.client())["batch"].startswith("batch_")


@pytest.mark.contract
def test_batches_match_the_spec(sandbox_empty, openai_spec) -> None:
    validator = SpecValidator(openai_spec)
    recorder = Recorder()
    batch_tour(sandbox_empty.client(http_client=recorder.http_client()))
    checked = [ex for ex in recorder.exchanges if ex.path.startswith("/batches")]
    assert len(checked) >= 12
    for ex in checked:
        assert validator.exchange(ex) == [], (ex.method, ex.path, ex.response_body)
    for ex in recorder.exchanges:
        if ex.path.startswith("/files") and ex.content_type.startswith("application/json"):
            assert validator.component("OpenAIFile", ex.response_body) == [], ex.response_body


@pytest.mark.contract
@pytest.mark.slow
def test_batches_through_prism(prism_proxy, prism_sandbox) -> None:
    client = openai.OpenAI(base_url=prism_proxy, api_key=prism_sandbox.api_key, max_retries=0, timeout=60)
    try:
        batch_tour(client, prism_sandbox.client())
    except openai.APIStatusError as exc:  # Prism's list of violations
        pytest.fail(f"{exc.request.method} {exc.request.url}: {exc.status_code} {exc.response.text[:3000]}")
