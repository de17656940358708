"""Turning recorded threads into cases (teacher forcing needs the history before each assistant turn), and
choosing which threads a test set draws.

Everything here reads the inventory's tables and returns plain data; the services layer saves it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from migrator.core.models import Assistant, Flow
from migrator.core.services import ServiceError
from migrator.inventory.models import LegacyMessage, LegacyRun, LegacyThread
from migrator.validation.models import SamplingStrategy

HOSTED = ("file_search", "code_interpreter", "web_search", "retrieval")


@dataclass
class DraftCase:
    key: str
    thread_legacy_id: str
    thread_pk: int | None
    turn: int
    history: list[dict[str, Any]]
    user_input: list[dict[str, Any]]
    expected_text: str
    expected_tool_calls: list[dict[str, Any]] = field(default_factory=list)
    hosted_tools: list[str] = field(default_factory=list)
    expected_json: Any = None
    notes: list[str] = field(default_factory=list)


def parse_json(text: str) -> tuple[bool, Any]:
    """(True, value) when ``text`` is a JSON object or array (code fences allowed), else (False, None)."""
    body = (text or "").strip()
    if body.startswith("```"):
        body = body.strip("`")
        body = body[4:] if body.lower().startswith("json") else body
        body = body.strip()
    if not body or body[0] not in "{[":
        return False, None
    try:
        return True, json.loads(body)
    except ValueError:
        return False, None


def _images(content: Any) -> list[dict[str, str]]:
    out = []
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "image_url" and isinstance(part.get("image_url"), dict):
            url = part["image_url"].get("url")
            if url:
                out.append({"image_url": str(url), "detail": str(part["image_url"].get("detail") or "auto")})
        elif part.get("type") == "image_file" and isinstance(part.get("image_file"), dict):
            fid = part["image_file"].get("file_id")
            if fid:
                out.append({"file_id": str(fid), "detail": str(part["image_file"].get("detail") or "auto")})
    return out


def text_only(message: LegacyMessage) -> str:
    """The message's text parts (the inventory's ``text`` also carries image placeholders)."""
    if not isinstance(message.content, list) or not message.content:
        return message.text or ""
    pieces = []
    for part in message.content:
        if isinstance(part, dict) and part.get("type") == "text":
            text = part.get("text")
            value = text.get("value") if isinstance(text, dict) else text
            if isinstance(value, str):
                pieces.append(value)
        elif isinstance(part, dict) and part.get("type") == "refusal" and isinstance(part.get("refusal"), str):
            pieces.append(part["refusal"])
    return "\n".join(pieces)


def _message_item(message: LegacyMessage) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "message", "role": "assistant" if message.role == "assistant" else "user",
                            "text": text_only(message)}
    if message.role == "user":
        images = _images(message.content)
        if images:
            item["images"] = images
    return item


def _run_calls(run: LegacyRun | None) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """(function calls with outputs, hosted tool types used, notes) of one recorded run, in step order."""
    calls: list[dict[str, Any]] = []
    hosted: list[str] = []
    notes: list[str] = []
    if run is None:
        return calls, hosted, notes
    for step in run.steps or []:
        details = step.get("step_details") if isinstance(step, dict) else None
        if not isinstance(details, dict) or details.get("type") != "tool_calls":
            continue
        for call in details.get("tool_calls") or []:
            kind = call.get("type")
            if kind == "function":
                fn = call.get("function") or {}
                if fn.get("output") is None:
                    # The run died waiting for this output: there is nothing recorded to answer it with.
                    notes.append(f"call {call.get('id')} to {fn.get('name')} has no recorded output (dropped)")
                    continue
                calls.append({"call_id": str(call.get("id") or ""), "name": str(fn.get("name") or ""),
                              "arguments": str(fn.get("arguments") or "{}"), "output": str(fn.get("output"))})
            elif kind in HOSTED and kind not in hosted:
                hosted.append(kind)
    return calls, hosted, notes


def cases_from_thread(thread: LegacyThread) -> list[DraftCase]:
    """One case per assistant turn that answers a user turn, with the recorded history before it."""
    messages = list(thread.messages.order_by("position", "id"))
    runs = {r.legacy_id: r for r in thread.runs.all()}
    timeline: list[dict[str, Any]] = []
    pending: list[LegacyMessage] = []
    cases: list[DraftCase] = []
    current: DraftCase | None = None
    current_run = ""
    for message in messages:
        if message.role == "user":
            pending.append(message)
            current = None
            continue
        if message.role != "assistant":
            continue
        run_id = message.run_legacy_id or ""
        if current is not None and run_id and run_id == current_run and not pending:
            # A second message of the same run belongs to the same turn.
            current.expected_text = f"{current.expected_text}\n\n{text_only(message)}".strip()
            timeline.append(_message_item(message))
            continue
        calls, hosted, notes = _run_calls(runs.get(run_id))
        if pending:
            current = DraftCase(
                key=f"{thread.legacy_id}#{len(cases) + 1}", thread_legacy_id=thread.legacy_id, thread_pk=thread.pk,
                turn=len(cases) + 1, history=[dict(i) for i in timeline],
                user_input=[_message_item(m) for m in pending], expected_text=text_only(message),
                expected_tool_calls=calls, hosted_tools=hosted, notes=notes,
            )
            cases.append(current)
            timeline.extend(_message_item(m) for m in pending)
            pending = []
        else:
            current = None  # an assistant message nobody asked for (a greeting): history only
        current_run = run_id
        for call in calls:
            timeline.append({"type": "function_call", "call_id": call["call_id"], "name": call["name"],
                             "arguments": call["arguments"]})
            timeline.append({"type": "function_call_output", "call_id": call["call_id"], "output": call["output"]})
        timeline.append(_message_item(message))
    for case in cases:
        ok, value = parse_json(case.expected_text)
        case.expected_json = value if ok else None
    return cases


# --- sampling ------------------------------------------------------------------------------------------------


def candidate_threads(assistant: Assistant, flow: Flow | None) -> QuerySet[LegacyThread]:
    """The assistant's threads, narrowed to the flow's when the thread list tagged any with its slug."""
    threads = LegacyThread.objects.filter(assistant=assistant, assistant_turns__gt=0)
    if flow is not None and threads.filter(flow_slug=flow.slug).exists():
        threads = threads.filter(flow_slug=flow.slug)
    return threads


def _tool_thread_ids(threads: QuerySet[LegacyThread]) -> set[int]:
    return set(LegacyRun.objects.filter(thread__in=threads).exclude(tool_calls={}).values_list("thread_id", flat=True))


def _structured_thread_ids(threads: QuerySet[LegacyThread]) -> set[int]:
    rows = LegacyMessage.objects.filter(thread__in=threads, role="assistant").filter(text__regex=r"^\s*[\[{]")
    return {tid for tid, text in rows.values_list("thread_id", "text") if parse_json(text)[0]}


def sample_threads(*, assistant: Assistant, flow: Flow | None, strategy: str, size: int,
                   thread_ids: Iterable[str] = ()) -> list[LegacyThread]:
    """The threads a test set draws, in a stable order (most recent first within each choice)."""
    threads = candidate_threads(assistant, flow)
    recent = threads.order_by("-last_message_at", "-id")
    size = max(1, int(size or 1))
    if strategy == SamplingStrategy.HAND_PICKED:
        wanted = [t.strip() for t in thread_ids if str(t).strip()]
        if not wanted:
            raise ServiceError("Hand-picked test sets need at least one thread id.")
        found = {t.legacy_id: t for t in LegacyThread.objects.filter(legacy_id__in=wanted)}
        unknown = [t for t in wanted if t not in found]
        if unknown:
            raise ServiceError(f"Unknown thread id(s): {', '.join(unknown[:5])}. Import them first.")
        foreign = [t for t in wanted if found[t].assistant_id != assistant.pk]
        if foreign:
            raise ServiceError(f"Thread(s) {', '.join(foreign[:5])} belong to another assistant.")
        return [found[t] for t in dict.fromkeys(wanted)]
    if strategy == SamplingStrategy.RECENT:
        return list(recent[:size])
    if strategy == SamplingStrategy.TRAFFIC:
        return list(threads.order_by("-message_count", "-last_message_at", "-id")[:size])
    if strategy == SamplingStrategy.TOOLS:
        return list(recent.filter(pk__in=_tool_thread_ids(threads)))
    if strategy == SamplingStrategy.STRUCTURED:
        return list(recent.filter(pk__in=_structured_thread_ids(threads)))
    if strategy == SamplingStrategy.STRATIFIED:
        tools, structured = _tool_thread_ids(threads), _structured_thread_ids(threads)
        buckets: dict[tuple[str, bool], list[LegacyThread]] = {}
        for thread in recent:
            kind = "tools" if thread.pk in tools else "structured" if thread.pk in structured else "plain"
            buckets.setdefault((kind, thread.user_turns > 1), []).append(thread)
        picked: list[LegacyThread] = []
        order = sorted(buckets)
        while len(picked) < size and any(buckets[k] for k in order):
            for key in order:
                if buckets[key] and len(picked) < size:
                    picked.append(buckets[key].pop(0))
        return picked
    raise ServiceError(f"Unknown sampling strategy {strategy!r}.")


def contract_of(assistant: Assistant) -> dict[str, Any]:
    """The structured-output contract the legacy assistant's answers followed ({} when free text)."""
    fmt = assistant.response_format
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema") or {}
        return {"type": "json_schema", "name": str(spec.get("name") or "response"),
                "schema": spec.get("schema") or {}, "strict": bool(spec.get("strict"))}
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        return {"type": "json_object"}
    return {}


def config_contract(config: dict[str, Any]) -> dict[str, Any]:
    """The structured-output format a Responses configuration sends ({} for free text)."""
    fmt = ((config or {}).get("text") or {}).get("format") if isinstance((config or {}).get("text"), dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return {"type": "json_schema", "name": str(fmt.get("name") or ""), "schema": fmt.get("schema") or {},
                "strict": bool(fmt.get("strict"))}
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        return {"type": "json_object"}
    return {}
