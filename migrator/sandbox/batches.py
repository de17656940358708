"""The Batch API (``/v1/batches``) over the sandbox's own ``/v1/responses``.

- ``POST /batches`` takes a ``purpose=batch`` JSONL file (``{"custom_id", "method", "url", "body"}`` a line) and
  stores the batch ``validating``. Like background responses, every ``GET /batches/{id}`` moves it one status on:
  ``validating`` → ``in_progress`` (or ``failed`` with ``errors`` naming each bad line) → ``finalizing`` (every
  request is answered by the same code as a direct ``POST /responses``, so a batch gives the same answers) →
  ``completed``, with an output file (the 200 answers) and an error file (the others), both ``batch_output``,
  their lines ``{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}``, and ``usage``.
- ``POST /batches/{id}/cancel``: a batch not yet finalizing becomes ``cancelling``, then ``cancelled`` on the next
  read (no request run); a finished one is refused (400), a cancelling or cancelled one comes back unchanged.
Optional fields the spec types as integers or objects (``failed_at``, ``errors``, ``output_file_id`` …) are left
out until they have a value: the spec does not allow them null.
"""

from __future__ import annotations

import json
from typing import Any

from . import catalog, responses
from .common import Ctx, Route, get_or_404, list_body, metadata, now, paging, require
from .errors import ApiError, invalid_value
from .files import add_file
from .store import public

ENDPOINTS = ("/v1/responses", "/v1/chat/completions", "/v1/embeddings", "/v1/completions", "/v1/moderations",
             "/v1/images/generations", "/v1/images/edits", "/v1/videos")
SUPPORTED = ("/v1/responses",)
MAX_REQUESTS = 50_000
WINDOW_SECONDS = 24 * 3600


def create_batch(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json()
    file_id = require(body, "input_file_id")
    endpoint = require(body, "endpoint")
    window = require(body, "completion_window")
    if endpoint not in ENDPOINTS:
        raise invalid_value("endpoint", f"'{endpoint}'. Supported values are: {', '.join(repr(e) for e in ENDPOINTS)}.")
    if endpoint not in SUPPORTED:
        raise ApiError(400, f"The sandbox runs batches against {', '.join(SUPPORTED)} only, not {endpoint}.",
                       param="endpoint", code="unsupported_value")
    if window != "24h":
        raise invalid_value("completion_window", f"'{window}'. Supported values are: '24h'.")
    file = ctx.store.get("file", str(file_id))
    if file is None:
        raise ApiError(404, f"No such File object: {file_id}", param="input_file_id", code=None)
    if file["purpose"] != "batch":
        raise ApiError(400, f"The input file {file_id} must be uploaded with purpose 'batch', not "
                       f"'{file['purpose']}'.", param="input_file_id", code="invalid_file_purpose")
    created = now()
    batch = {"id": catalog.new_id("batch_"), "object": "batch", "endpoint": endpoint, "input_file_id": file_id,
             "completion_window": window, "status": "validating", "created_at": created,
             "expires_at": created + WINDOW_SECONDS,
             "request_counts": {"total": 0, "completed": 0, "failed": 0}, "metadata": metadata(body)}
    return public(ctx.store.insert("batch", batch))


def retrieve_batch(ctx: Ctx, batch_id: str) -> dict[str, Any]:
    batch = get_or_404(ctx, "batch", batch_id, "batch")
    return public(_advance(ctx, batch))


def list_batches(ctx: Ctx) -> dict[str, Any]:
    page = paging(ctx)
    rows, more = ctx.store.page("batch", limit=page["limit"], order="desc", after=page["after"])
    return list_body(rows, more)


def cancel_batch(ctx: Ctx, batch_id: str) -> dict[str, Any]:
    batch = get_or_404(ctx, "batch", batch_id, "batch")
    if batch["status"] in ("cancelling", "cancelled"):
        return public(batch)
    if batch["status"] not in ("validating", "in_progress"):
        raise ApiError(400, f"Cannot cancel a batch with status '{batch['status']}'.", code=None)
    batch.update({"status": "cancelling", "cancelling_at": now()})
    return public(ctx.store.save("batch", batch))


# --- one step per read ------------------------------------------------------------------------------------


def _advance(ctx: Ctx, batch: dict[str, Any]) -> dict[str, Any]:
    status = batch["status"]
    if status == "validating":
        lines, errors = _read_input(ctx, batch)
        if errors:
            batch.update({"status": "failed", "failed_at": now(),
                          "errors": {"object": "list", "data": errors[:1000]}})
        else:
            batch.update({"status": "in_progress", "in_progress_at": now(), "_lines": lines,
                          "request_counts": {"total": len(lines), "completed": 0, "failed": 0}})
            model = next((line["body"].get("model") for line in lines if isinstance(line["body"].get("model"), str)),
                         None)
            if model:
                batch["model"] = model
    elif status == "in_progress":
        _run(ctx, batch)
        batch.update({"status": "finalizing", "finalizing_at": now()})
    elif status == "finalizing":
        batch.update({"status": "completed", "completed_at": now(), **batch.pop("_files")})
    elif status == "cancelling":
        batch.pop("_lines", None)
        batch.update({"status": "cancelled", "cancelled_at": now()})
    else:
        return batch
    return ctx.store.save("batch", batch)


def _error(line: int, message: str, *, code: str = "invalid_request", param: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "param": param, "line": line}


def _read_input(ctx: Ctx, batch: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each line checked as the real validation step does; errors name the line (1-based)."""
    raw = (ctx.store.get_blob(batch["input_file_id"]) or b"").decode("utf-8", "replace")
    lines: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, text in enumerate(raw.splitlines(), start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except ValueError:
            errors.append(_error(number, "This line is not valid JSON.", code="invalid_json_line"))
            continue
        if not isinstance(line, dict):
            errors.append(_error(number, "Each line must be a JSON object.", code="invalid_json_line"))
            continue
        custom_id = line.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            errors.append(_error(number, "Missing or invalid 'custom_id'.", param="custom_id",
                                 code="missing_required_parameter"))
        elif custom_id in seen:
            errors.append(_error(number, f"The custom_id '{custom_id}' is used more than once in this file; each "
                                 "request needs its own.", param="custom_id", code="duplicate_custom_id"))
        else:
            seen.add(custom_id)
        if line.get("method") != "POST":
            errors.append(_error(number, "Only 'POST' requests are supported in a batch.", param="method",
                                 code="invalid_value"))
        if line.get("url") != batch["endpoint"]:
            errors.append(_error(number, f"The url '{line.get('url')}' does not match the batch's endpoint "
                                 f"'{batch['endpoint']}'.", param="url", code="mismatched_url"))
        if not isinstance(line.get("body"), dict):
            errors.append(_error(number, "Missing or invalid 'body': expected an object.", param="body",
                                 code="invalid_value"))
        elif line["body"].get("stream"):
            errors.append(_error(number, "Streaming is not supported in a batch.", param="body.stream",
                                 code="invalid_value"))
        lines.append(line)
    if not lines and not errors:
        errors.append(_error(1, "The input file has no requests.", code="empty_file"))
    if len(lines) > MAX_REQUESTS:
        errors.append(_error(MAX_REQUESTS + 1, f"A batch holds at most {MAX_REQUESTS} requests.",
                             code="too_many_requests"))
    return lines, errors


def _run(ctx: Ctx, batch: dict[str, Any]) -> None:
    """Answer every request through ``/v1/responses`` itself; 200s go to the output file, the rest to the error
    file, each line under its ``custom_id``."""
    out: list[str] = []
    failed: list[str] = []
    usage = {"input_tokens": 0, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 0,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 0}
    for line in batch.pop("_lines", []):
        one = Ctx(ctx.store, ctx.model, ctx.config, "POST", batch["endpoint"], {}, body=dict(line["body"]))
        row: dict[str, Any] = {"id": catalog.new_id("batch_req_", 32), "custom_id": line["custom_id"]}
        try:
            answer = responses.create_response(one)
            status, body = 200, answer
        except ApiError as exc:
            status, body = exc.status, exc.body()
        row["response"] = {"status_code": status, "request_id": catalog.new_id("req_", 32), "body": body}
        row["error"] = None
        if status == 200:
            out.append(json.dumps(row, ensure_ascii=False))
            spent = body.get("usage") or {}
            for key in ("input_tokens", "output_tokens", "total_tokens"):
                usage[key] += int(spent.get(key) or 0)
            usage["input_tokens_details"]["cached_tokens"] += int(
                (spent.get("input_tokens_details") or {}).get("cached_tokens") or 0)
            usage["output_tokens_details"]["reasoning_tokens"] += int(
                (spent.get("output_tokens_details") or {}).get("reasoning_tokens") or 0)
        else:
            failed.append(json.dumps(row, ensure_ascii=False))
    files: dict[str, Any] = {}
    if out:
        files["output_file_id"] = add_file(ctx.store, f"{batch['id']}_output.jsonl",
                                           ("\n".join(out) + "\n").encode(), "batch_output")["id"]
    if failed:
        files["error_file_id"] = add_file(ctx.store, f"{batch['id']}_error.jsonl",
                                          ("\n".join(failed) + "\n").encode(), "batch_output")["id"]
    batch["_files"] = files
    batch["usage"] = usage
    batch["request_counts"] = {"total": len(out) + len(failed), "completed": len(out), "failed": len(failed)}


ROUTES: list[Route] = [
    ("POST", "/batches", create_batch),
    ("GET", "/batches", list_batches),
    ("GET", "/batches/{batch_id}", retrieve_batch),
    ("POST", "/batches/{batch_id}/cancel", cancel_batch),
]
