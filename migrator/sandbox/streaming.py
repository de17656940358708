"""Server-sent events for ``responses.create(stream=True)``, in the spec's event types, fields and order.

The response is computed (and stored) first; the stream then replays it as the API does:
``response.created`` → ``response.in_progress`` → per output item ``response.output_item.added``, its
content events (content parts and ``output_text`` deltas, function-call argument deltas, file-search and
code-interpreter progress) and ``response.output_item.done`` → ``response.completed`` /
``response.incomplete`` / ``response.failed``. Every event carries ``sequence_number`` (0, 1, 2, ...), and the
deltas of an item join exactly into its final text or arguments.

Stream faults (docs/sandbox.md):
- ``--stream-delay-ms M`` or request header ``x-sandbox-stream-delay-ms: M``: a pause before every event after
  the first, so time to first token and total time differ as they do upstream.
- ``x-sandbox-fault: stream-cut``: the connection closes after ``x-sandbox-fault-after`` events (default: half of
  them) without the end of the chunked body, as a dropped connection looks. ``--stream-drop-rate P`` does that
  to a seeded share of streams, at a seeded point. The response itself is stored completed: only the answer
  was cut.
- ``x-sandbox-fault: stream-error``: after ``x-sandbox-fault-after`` events an ``error`` event ends the stream
  and the stored response is ``failed``.
- ``x-sandbox-fault: 429`` (or any status) on a streaming request answers before the first byte, as for any
  request.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import StreamingResponse

from .common import Ctx
from .errors import ApiError, bad_request

STREAM_DELAY_HEADER = "x-sandbox-stream-delay-ms"
AFTER_HEADER = "x-sandbox-fault-after"
STREAM_FAULTS = ("stream-cut", "stream-error")
_PIECE_RE = re.compile(r"\S*\s*")
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class StreamCut(Exception):
    """Raised inside the body iterator: the server closes the connection mid-body (a cut stream)."""


def pieces(text: str) -> list[str]:
    """Word-sized deltas (each word with the whitespace after it) that join back into ``text`` exactly."""
    return [p for p in _PIECE_RE.findall(text) if p]


def stream_fault(ctx: Ctx, *, stream: bool) -> str | None:
    """The stream fault this request asks for (header), checked; None without one."""
    fault = ctx.request_headers.get("x-sandbox-fault")
    if fault not in STREAM_FAULTS:
        return None
    if not stream:
        raise bad_request(f"x-sandbox-fault '{fault}' applies only to requests with stream=true.",
                          param="x-sandbox-fault")
    return fault


def _snapshot(resp: dict[str, Any]) -> dict[str, Any]:
    """The response as ``response.created`` / ``response.in_progress`` show it: nothing produced yet."""
    shown = {**resp, "status": "in_progress", "output": [], "completed_at": None, "error": None,
             "incomplete_details": None}
    shown.pop("usage", None)  # the spec's ``usage`` is an object or absent, never null
    return shown


def _message_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    where = {"item_id": item["id"], "output_index": index}
    out: list[dict[str, Any]] = [{"type": "response.output_item.added", "output_index": index,
                                  "item": {**item, "status": "in_progress", "content": []}}]
    for ci, part in enumerate(item.get("content") or []):
        at = {**where, "content_index": ci}
        if part.get("type") != "output_text":
            out.append({"type": "response.content_part.added", **at, "part": part})
            out.append({"type": "response.content_part.done", **at, "part": part})
            continue
        out.append({"type": "response.content_part.added", **at,
                    "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}})
        out += [{"type": "response.output_text.delta", **at, "delta": d, "logprobs": []} for d in pieces(part["text"])]
        out += [{"type": "response.output_text.annotation.added", **at, "annotation_index": ai, "annotation": a}
                for ai, a in enumerate(part.get("annotations") or [])]
        out.append({"type": "response.output_text.done", **at, "text": part["text"], "logprobs": []})
        out.append({"type": "response.content_part.done", **at, "part": part})
    out.append({"type": "response.output_item.done", "output_index": index, "item": item})
    return out


def _function_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    where = {"item_id": item["id"], "output_index": index}
    out: list[dict[str, Any]] = [{"type": "response.output_item.added", "output_index": index,
                                  "item": {**item, "status": "in_progress", "arguments": ""}}]
    out += [{"type": "response.function_call_arguments.delta", **where, "delta": d} for d in pieces(item["arguments"])]
    out.append({"type": "response.function_call_arguments.done", **where, "name": item["name"],
                "arguments": item["arguments"]})
    out.append({"type": "response.output_item.done", "output_index": index, "item": item})
    return out


def _tool_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    where = {"item_id": item["id"], "output_index": index}
    kind = item["type"]
    if kind == "file_search_call":
        added = {**item, "status": "in_progress", "results": None}
        middle = [{"type": f"response.file_search_call.{step}", **where} for step in ("in_progress", "searching",
                                                                                      "completed")]
    elif kind == "code_interpreter_call":
        added = {**item, "status": "in_progress", "code": "", "outputs": None}
        middle = [{"type": "response.code_interpreter_call.in_progress", **where}]
        middle += [{"type": "response.code_interpreter_call_code.delta", **where, "delta": d}
                   for d in pieces(item.get("code") or "")]
        middle += [{"type": "response.code_interpreter_call_code.done", **where, "code": item.get("code") or ""},
                   {"type": "response.code_interpreter_call.interpreting", **where},
                   {"type": "response.code_interpreter_call.completed", **where}]
    else:
        added, middle = item, []
    return [{"type": "response.output_item.added", "output_index": index, "item": added}, *middle,
            {"type": "response.output_item.done", "output_index": index, "item": item}]


def events(resp: dict[str, Any]) -> list[dict[str, Any]]:
    """Every event of the stream of ``resp`` (a finished response), numbered."""
    start = _snapshot(resp)
    out: list[dict[str, Any]] = [{"type": "response.created", "response": start},
                                 {"type": "response.in_progress", "response": start}]
    for index, item in enumerate(resp["output"]):
        if item["type"] == "message":
            out += _message_events(index, item)
        elif item["type"] == "function_call":
            out += _function_events(index, item)
        else:
            out += _tool_events(index, item)
    end = {"completed": "response.completed", "incomplete": "response.incomplete", "failed": "response.failed"}
    if resp["status"] in end:  # a cancelled background response has no final event: the stream just ends
        out.append({"type": end[resp["status"]], "response": resp})
    for number, event in enumerate(out):
        event["sequence_number"] = number
    return out


def error_event(message: str, number: int, *, code: str = "server_error") -> dict[str, Any]:
    """The spec's ``error`` event (``code``/``message``/``param``), with the nested ``error`` object the API
    also sends, which is what makes the SDK raise ``APIError`` mid-stream."""
    return {"type": "error", "code": code, "message": message, "param": None, "sequence_number": number,
            "error": {"type": "server_error", "code": code, "message": message, "param": None}}


def _encode(event: dict[str, Any]) -> bytes:
    return b"event: " + event["type"].encode() + b"\ndata: " + _dumps(event).encode() + b"\n\n"


def sse_response(ctx: Ctx, resp: dict[str, Any], fault: str | None = None, *,
                 starting_after: int = -1) -> StreamingResponse:
    """The SSE answer for ``resp``, with the configured delays and the requested (or seeded) fault; with
    ``starting_after`` (``GET /responses/{id}?stream=true``) only the events after that sequence number."""
    listed = [e for e in events(resp) if e["sequence_number"] > starting_after]
    try:
        delay_ms = int(ctx.request_headers.get(STREAM_DELAY_HEADER) or ctx.config.stream_delay_ms or 0)
        after_raw = ctx.request_headers.get(AFTER_HEADER)
        after = int(after_raw) if after_raw is not None else len(listed) // 2
    except ValueError:
        raise bad_request(f"{STREAM_DELAY_HEADER} and {AFTER_HEADER} take integers.") from None
    if delay_ms < 0 or after < 0:
        raise ApiError(400, "Stream fault values must not be negative.", param=AFTER_HEADER)
    cut = ctx.drop_point(len(listed)) if fault is None and ctx.drop_point is not None else None
    if cut is not None:
        fault, after = "stream-cut", cut
    stop = min(after, len(listed)) if fault else len(listed)
    if fault == "stream-error":
        # the stored response is failed: nothing comes after the error event
        listed = [*listed[:stop], error_event("The server had an error while processing your request. Sorry "
                                              "about that! (sandbox fault 'stream-error')", stop)]
        stop = len(listed)

    async def body() -> AsyncIterator[bytes]:
        for number, event in enumerate(listed[:stop]):
            if number and delay_ms:
                await asyncio.sleep(delay_ms / 1000)
            yield _encode(event)
        if fault == "stream-cut":
            raise StreamCut(f"stream cut after {stop} events (sandbox fault)")

    return StreamingResponse(body(), media_type="text/event-stream; charset=utf-8",
                             headers={"cache-control": "no-cache"})
