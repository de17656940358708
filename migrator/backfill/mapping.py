"""Legacy thread → Conversation items, with a fidelity ledger. Pure: no database, no network.

The input is plain data (:class:`ThreadData`, built from the inventory by ``services.planning``); the output is
a :class:`Plan`: the items to send in order, the conversation metadata, and a ledger saying what was carried,
changed or dropped and why. Rules (issue 10, docs/backfill.md):

- text → ``input_text`` (user) / ``output_text`` (assistant); annotations → ``file_citation`` (file name from
  imported file metadata, else the file id, noted) / ``file_path``; the ``【4:0†source】`` markers are stripped
  (default, indexes shifted) or kept, the same way for the whole plan, and the ledger says which;
- user ``image_file``/``image_url`` → ``input_image`` (``detail`` defaults to ``auto``); the assistant's own
  images, every attachment and the thread's tool resources have no target: noted;
- ``refusal`` → ``refusal`` part; an incomplete message is kept and noted;
- a run's function calls with recorded outputs → ``function_call`` + ``function_call_output`` pairs (the legacy
  ``call_…`` id is the ``call_id``) placed before the run's first assistant message; a call without an output
  is dropped (a call without its output breaks the next request);
- code_interpreter / file_search steps need server ids: noted, or rendered as assistant text on request;
- a NUL or unpaired surrogate becomes U+FFFD and is noted: a missing turn is worse than a replaced character.

Every planned item is checked against the ``openai`` SDK's parameter types (``itemcheck``) before it is ever sent.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from migrator.backfill.itemcheck import CALL_ID_MAX, check_item

BATCH_SIZE = 20  # POST /conversations and POST /conversations/{id}/items take at most 20 items a call
METADATA_MAX_PAIRS = 16
METADATA_MAX_KEY = 64
METADATA_MAX_VALUE = 512
REPLACEMENT = "\ufffd"

# Reserved conversation metadata keys (the thread's own metadata fills what is left of the 16 pairs).
KEY_THREAD = "legacy_thread_id"
KEY_MARKER = "migrator_backfill"
KEY_FLOW = "flow"
KEY_END_USER = "end_user"
RESERVED_KEYS = (KEY_THREAD, KEY_MARKER, KEY_FLOW, KEY_END_USER)

MARKERS_STRIP = "strip"
MARKERS_KEEP = "keep"
HOSTED_NOTE = "note"
HOSTED_TEXT = "text"

_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")


class MalformedThread(ValueError):
    """The thread cannot be planned at all (half-imported or malformed); the message says what and where."""


@dataclass(frozen=True)
class Options:
    markers: str = MARKERS_STRIP  # "strip" or "keep" the 【…】 citation markers
    hosted_tools: str = HOSTED_NOTE  # "note" (dropped, noted) or "text" (rendered as assistant text)
    marker: str = ""  # value of the migrator_backfill metadata key (identifies our conversations)

    def __post_init__(self) -> None:
        if self.markers not in (MARKERS_STRIP, MARKERS_KEEP):
            raise ValueError(f"markers must be 'strip' or 'keep', not {self.markers!r}")
        if self.hosted_tools not in (HOSTED_NOTE, HOSTED_TEXT):
            raise ValueError(f"hosted_tools must be 'note' or 'text', not {self.hosted_tools!r}")


@dataclass
class MessageData:
    legacy_id: str
    position: int
    role: str
    content: Any
    attachments: Any = field(default_factory=list)
    metadata: Any = field(default_factory=dict)
    run_legacy_id: str = ""
    created_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunData:
    legacy_id: str
    status: str = ""
    steps: Any = field(default_factory=list)
    created_at: float | None = None


@dataclass
class ThreadData:
    legacy_id: str
    messages: list[MessageData]
    runs: list[RunData] = field(default_factory=list)
    flow_slug: str = ""
    end_user_id: str = ""
    metadata: Any = field(default_factory=dict)
    tool_resources: Any = field(default_factory=dict)
    is_stub: bool = False


@dataclass
class LedgerEntry:
    kind: str  # "changed" or "dropped" ("carried" is counted, not listed)
    where: str  # msg_…, run_…/call_…, thread
    what: str
    why: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "where": self.where, "what": self.what, "why": self.why}


@dataclass
class Plan:
    thread_id: str
    items: list[dict[str, Any]]
    metadata: dict[str, str]
    ledger: list[LedgerEntry]
    carried: dict[str, int]
    options: Options

    @property
    def batches(self) -> int:
        return max(1, -(-len(self.items) // BATCH_SIZE)) if self.items else 0

    @property
    def dropped(self) -> list[dict[str, str]]:
        return [{"what": e.what, "why": e.why, "where": e.where} for e in self.ledger if e.kind == "dropped"]

    def summary(self) -> dict[str, Any]:
        return {
            "items": len(self.items),
            "calls": self.batches,
            "carried": dict(self.carried),
            "changed": sum(1 for e in self.ledger if e.kind == "changed"),
            "dropped": sum(1 for e in self.ledger if e.kind == "dropped"),
            "markers": self.options.markers,
            "hosted_tools": self.options.hosted_tools,
        }


# --- text -----------------------------------------------------------------------------------------------------


def clean_text(value: str) -> tuple[str, int]:
    """Replace NULs and unpaired surrogates with U+FFFD (one for one, so indexes stay valid)."""
    count = 0

    def swap(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return REPLACEMENT

    return _BAD_CHARS.sub(swap, value), count


class _Builder:
    def __init__(self, thread: ThreadData, options: Options, filenames: dict[str, str]) -> None:
        self.thread = thread
        self.options = options
        self.filenames = filenames
        self.ledger: list[LedgerEntry] = []
        self.carried: dict[str, int] = {}

    def note(self, kind: str, where: str, what: str, why: str) -> None:
        self.ledger.append(LedgerEntry(kind, where, what, why))

    def count(self, key: str, n: int = 1) -> None:
        self.carried[key] = self.carried.get(key, 0) + n

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise MalformedThread(f"{where}: text value is {type(value).__name__}, not a string")
        cleaned, replaced = clean_text(value)
        if replaced:
            self.note("changed", where, f"{replaced} character(s) replaced with U+FFFD",
                      "a NUL or unpaired surrogate cannot be sent; replacing it keeps the turn")
        return cleaned

    # --- annotations ------------------------------------------------------------------------------------------

    def annotated(self, raw_text: dict[str, Any], where: str) -> tuple[str, list[dict[str, Any]]]:
        value = self.text(raw_text.get("value"), where)
        raw_annotations = raw_text.get("annotations") or []
        if not isinstance(raw_annotations, list):
            raise MalformedThread(f"{where}: annotations is not a list")
        spans = []
        for i, ann in enumerate(raw_annotations):
            if not isinstance(ann, dict):
                raise MalformedThread(f"{where}: annotation {i} is not an object")
            spans.append(ann)
        strip = self.options.markers == MARKERS_STRIP
        # Strip markers right to left so earlier indexes stay valid while we cut.
        removals: list[tuple[int, int]] = []
        if strip:
            for ann in spans:
                start, end = ann.get("start_index"), ann.get("end_index")
                marker = ann.get("text") or ""
                if (ann.get("type") == "file_citation" and isinstance(start, int) and isinstance(end, int)
                        and 0 <= start < end <= len(value) and value[start:end] == marker):
                    removals.append((start, end))
            for start, end in sorted(set(removals), reverse=True):
                value = value[:start] + value[end:]

        def shifted(index: int) -> int:
            return index - sum(e - s for s, e in set(removals) if e <= index)

        annotations: list[dict[str, Any]] = []
        for ann in spans:
            kind = ann.get("type")
            start = ann.get("start_index") if isinstance(ann.get("start_index"), int) else 0
            index = min(max(shifted(start), 0), len(value))
            if kind == "file_citation":
                file_id = (ann.get("file_citation") or {}).get("file_id") or ""
                if not file_id:
                    self.note("dropped", where, f"citation {ann.get('text')!r} without a file id",
                              "a file_citation needs the cited file's id")
                    continue
                filename = self.filenames.get(file_id)
                if not filename:
                    filename = file_id
                    self.note("changed", where, f"citation of {file_id}: file name unknown, the id is used",
                              "the file's metadata was not imported")
                annotations.append({"type": "file_citation", "file_id": file_id, "filename": filename,
                                    "index": index})
                self.count("annotations")
            elif kind == "file_path":
                file_id = (ann.get("file_path") or {}).get("file_id") or ""
                if not file_id:
                    self.note("dropped", where, f"file path {ann.get('text')!r} without a file id",
                              "a file_path annotation needs the file's id")
                    continue
                annotations.append({"type": "file_path", "file_id": file_id, "index": index})
                self.count("annotations")
            else:
                self.note("dropped", where, f"annotation of type {kind!r}", "no output annotation of that type")
        return value, annotations

    # --- messages ---------------------------------------------------------------------------------------------

    def message(self, msg: MessageData) -> dict[str, Any] | None:
        where = msg.legacy_id
        if msg.role not in ("user", "assistant"):
            raise MalformedThread(f"message {where}: role {msg.role!r} is neither 'user' nor 'assistant'")
        content = msg.content
        if isinstance(content, str):
            content = [{"type": "text", "text": {"value": content, "annotations": []}}]
        if not isinstance(content, list):
            raise MalformedThread(f"message {where}: content is {type(content).__name__}, not a list of parts")
        assistant = msg.role == "assistant"
        parts: list[dict[str, Any]] = []
        for j, part in enumerate(content):
            pwhere = f"{where} part {j}"
            if not isinstance(part, dict) or "type" not in part:
                raise MalformedThread(f"message {pwhere}: a content part without a type")
            kind = part["type"]
            if kind == "text":
                raw = part.get("text")
                if isinstance(raw, str):
                    raw = {"value": raw, "annotations": []}
                if not isinstance(raw, dict):
                    raise MalformedThread(f"message {pwhere}: text part without a text object")
                if assistant:
                    value, annotations = self.annotated(raw, pwhere)
                    parts.append({"type": "output_text", "text": value, "annotations": annotations})
                else:
                    value = self.text(raw.get("value"), pwhere)
                    if raw.get("annotations"):
                        self.note("dropped", pwhere, f"{len(raw['annotations'])} annotation(s) on a user message",
                                  "input_text carries no annotations")
                    parts.append({"type": "input_text", "text": value})
            elif kind == "refusal":
                refusal = part.get("refusal")
                if not assistant:
                    self.note("dropped", pwhere, "a refusal part on a user message", "only assistants refuse")
                    continue
                parts.append({"type": "refusal", "refusal": self.text(refusal, pwhere)})
                self.count("refusals")
            elif kind in ("image_file", "image_url"):
                body = part.get(kind) or {}
                if assistant:
                    ref = body.get("file_id") or body.get("url") or "?"
                    self.note("dropped", pwhere, f"assistant image {ref}",
                              "assistant messages take only output_text and refusal parts")
                    continue
                detail = body.get("detail") or "auto"
                if detail not in ("low", "high", "auto"):
                    self.note("changed", pwhere, f"image detail {detail!r} → 'auto'", "not a detail the API takes")
                    detail = "auto"
                if kind == "image_file" and body.get("file_id"):
                    parts.append({"type": "input_image", "file_id": body["file_id"], "detail": detail})
                elif kind == "image_url" and body.get("url"):
                    parts.append({"type": "input_image", "image_url": body["url"], "detail": detail})
                else:
                    self.note("dropped", pwhere, f"{kind} without a file id or URL", "nothing to point at")
                    continue
                self.count("images")
            else:
                self.note("dropped", pwhere, f"content part of type {kind!r}", "no conversation content of that type")
        for attachment in msg.attachments or []:
            file_id = attachment.get("file_id") if isinstance(attachment, dict) else None
            name = self.filenames.get(file_id or "", "")
            tools = ", ".join(t.get("type", "?") for t in (attachment.get("tools") or []) if isinstance(t, dict)) \
                if isinstance(attachment, dict) else ""
            self.note("dropped", where, f"attachment {file_id or '?'}" + (f" ({name})" if name else "")
                      + (f" for {tools}" if tools else ""),
                      "attachments are not items; the file stays in its vector store or container")
        if msg.metadata:
            self.note("dropped", where, f"message metadata ({len(msg.metadata)} key(s))",
                      "items carry no metadata; migrator keeps it with the legacy message")
        for note in (msg.extra or {}).get("migrator_replaced") or ():
            self.note("changed", where, f"at import: {note}",
                      "the database stores no NUL or unpaired surrogate; replacing it kept the turn")
        status = (msg.extra or {}).get("status")
        if status == "incomplete":
            reason = ((msg.extra or {}).get("incomplete_details") or {}).get("reason") or "unknown reason"
            self.note("changed", where, f"incomplete message kept ({reason})",
                      "the text that was produced is part of the history")
        if not parts:
            self.note("dropped", where, f"{msg.role} message with nothing that can be carried",
                      "every part of it had no conversation equivalent")
            return None
        self.count("messages")
        return {"type": "message", "role": msg.role, "content": parts}

    # --- run steps --------------------------------------------------------------------------------------------

    def run_items(self, run: RunData) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        steps = run.steps if isinstance(run.steps, list) else []
        if run.status and run.status not in ("completed", "requires_action", "in_progress", "queued"):
            self.note("changed", run.legacy_id, f"run ended {run.status}", "its messages and recorded calls are kept")
        for step in steps:
            if not isinstance(step, dict):
                continue
            details = step.get("step_details") or {}
            if details.get("type") != "tool_calls":
                continue
            for call in details.get("tool_calls") or []:
                if not isinstance(call, dict):
                    continue
                out.extend(self.call_items(run, call))
        return out

    def call_items(self, run: RunData, call: dict[str, Any]) -> list[dict[str, Any]]:
        kind = call.get("type")
        call_id = str(call.get("id") or "")
        where = f"{run.legacy_id}/{call_id or '?'}"
        if kind == "function":
            fn = call.get("function") or {}
            name = fn.get("name") or ""
            output = fn.get("output")
            if output is None:
                self.note("dropped", where, f"call of {name or '?'} without a recorded output",
                          "a function_call without its output breaks the next request")
                return []
            if not name or not call_id:
                self.note("dropped", where, "function call without a name or id", "the API needs both")
                return []
            arguments = fn.get("arguments")
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
                self.note("changed", where, "arguments serialised to a JSON string", "the API takes a string")
            if not isinstance(output, str):
                output = json.dumps(output, ensure_ascii=False)
                self.note("changed", where, "output serialised to a JSON string", "the API takes a string")
            if len(call_id) > CALL_ID_MAX:
                new_id = "call_" + hashlib.sha256(call_id.encode()).hexdigest()[:40]
                self.note("changed", where, f"call id shortened to {new_id}", "call_id takes at most 64 characters")
                call_id = new_id
            self.count("function_calls")
            return [
                {"type": "function_call", "call_id": call_id, "name": self.text(name, where),
                 "arguments": self.text(arguments, where)},
                {"type": "function_call_output", "call_id": call_id, "output": self.text(output, where)},
            ]
        if kind in ("code_interpreter", "file_search"):
            if self.options.hosted_tools == HOSTED_NOTE:
                self.note("dropped", where, f"{kind} step",
                          "hosted-tool items need server-issued ids; a client cannot create them")
                return []
            text = self.text(render_hosted(call), where)
            self.note("changed", where, f"{kind} step rendered as assistant text",
                      "hosted-tool items cannot be created by a client (rendering asked for)")
            self.count("hosted_tool_texts")
            return [{"type": "message", "role": "assistant",
                     "content": [{"type": "output_text", "text": text, "annotations": []}]}]
        self.note("dropped", where, f"tool call of type {kind!r}", "no conversation item for it")
        return []


def render_hosted(call: dict[str, Any]) -> str:
    """A hosted-tool step as readable text (used when the plan asks to render rather than drop them)."""
    kind = call.get("type")
    if kind == "code_interpreter":
        body = call.get("code_interpreter") or {}
        lines = ["[code_interpreter]", "```python", str(body.get("input") or ""), "```"]
        for out in body.get("outputs") or []:
            if isinstance(out, dict) and out.get("type") == "logs":
                lines += ["Output:", str(out.get("logs") or "")]
            elif isinstance(out, dict) and out.get("type") == "image":
                lines.append(f"[image {((out.get('image') or {}).get('file_id')) or '?'}]")
        return "\n".join(lines)
    body = call.get("file_search") or {}
    results = body.get("results") or []
    names = [str(r.get("file_name") or r.get("filename") or r.get("file_id") or "?")
             for r in results if isinstance(r, dict)]
    return "[file_search] " + (f"searched; results from: {', '.join(names)}" if names else "searched the files")


# --- metadata -------------------------------------------------------------------------------------------------


def conversation_metadata(thread: ThreadData, options: Options, b: _Builder) -> dict[str, str]:
    meta: dict[str, str] = {KEY_THREAD: thread.legacy_id[:METADATA_MAX_VALUE]}
    if options.marker:
        meta[KEY_MARKER] = options.marker[:METADATA_MAX_VALUE]
    for key, value, label in ((KEY_FLOW, thread.flow_slug, "flow"), (KEY_END_USER, thread.end_user_id, "end user")):
        if not value:
            continue
        if len(value) > METADATA_MAX_VALUE:
            b.note("dropped", "thread", f"{label} in conversation metadata",
                   f"longer than {METADATA_MAX_VALUE} characters; migrator keeps it")
            continue
        meta[key] = value
    raw = thread.metadata if isinstance(thread.metadata, dict) else {}
    for key, value in raw.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        why = ""
        if key in RESERVED_KEYS:
            why = "the key is reserved for migrator's own metadata"
        elif len(key) > METADATA_MAX_KEY:
            why = f"key longer than {METADATA_MAX_KEY} characters"
        elif len(text) > METADATA_MAX_VALUE:
            why = f"value longer than {METADATA_MAX_VALUE} characters"
        elif len(meta) >= METADATA_MAX_PAIRS:
            why = f"conversation metadata holds at most {METADATA_MAX_PAIRS} pairs"
        if why:
            b.note("dropped", "thread", f"thread metadata {key!r}", why)
            continue
        meta[key], _ = clean_text(text)
    return meta


# --- the plan -------------------------------------------------------------------------------------------------


def plan_thread(thread: ThreadData, *, options: Options | None = None, filenames: dict[str, str] | None = None) -> Plan:
    """The items to create for ``thread``, in order, with the ledger. Raises MalformedThread when unplannable."""
    options = options or Options()
    b = _Builder(thread, options, filenames or {})
    messages = sorted(thread.messages, key=lambda m: m.position)
    positions = [m.position for m in messages]
    if len(set(positions)) != len(positions):
        raise MalformedThread("half-imported: two messages share a position; re-import the thread")
    seen_ids = set()
    for m in messages:
        if not m.legacy_id:
            raise MalformedThread(f"message at position {m.position} has no id")
        if m.legacy_id in seen_ids:
            raise MalformedThread(f"message {m.legacy_id} appears twice")
        seen_ids.add(m.legacy_id)
    runs = {r.legacy_id: r for r in thread.runs}
    run_items = {run_id: b.run_items(run) for run_id, run in runs.items()}
    placed: set[str] = set()
    items: list[dict[str, Any]] = []
    referenced = {m.run_legacy_id for m in messages if m.run_legacy_id}
    # Runs without a message of their own: their pairs go where the run happened in time.
    orphan_runs = sorted((r for r in thread.runs if r.legacy_id not in referenced and run_items[r.legacy_id]),
                         key=lambda r: (r.created_at or 0, r.legacy_id))
    for msg in messages:
        while orphan_runs and msg.created_at is not None and (orphan_runs[0].created_at or 0) < msg.created_at:
            run = orphan_runs.pop(0)
            items.extend(run_items[run.legacy_id])
            placed.add(run.legacy_id)
        if msg.role == "assistant" and msg.run_legacy_id and msg.run_legacy_id not in placed:
            placed.add(msg.run_legacy_id)
            if msg.run_legacy_id in run_items:
                items.extend(run_items[msg.run_legacy_id])
            else:
                b.note("changed", msg.legacy_id, f"run {msg.run_legacy_id} was not imported",
                       "its tool calls (if any) are unknown; the message is kept")
        item = b.message(msg)
        if item is not None:
            items.append(item)
    for run in orphan_runs:
        items.extend(run_items[run.legacy_id])
    if thread.tool_resources and any(thread.tool_resources.values()):
        b.note("dropped", "thread", "thread tool resources (vector stores / code files)",
               "conversations hold no tool resources; attach them to the prompt's tools instead")
    if options.markers == MARKERS_STRIP and b.carried.get("annotations"):
        b.note("changed", "thread", "citation markers like 【4:0†source】 stripped, annotation indexes shifted",
               "plan option markers=strip (the same for every message)")
    metadata = conversation_metadata(thread, options, b)
    for i, item in enumerate(items):
        problem = check_item(item)
        if problem:
            raise MalformedThread(f"planned item {i} ({item.get('type')}) fails the SDK's types: {problem}")
    return Plan(thread.legacy_id, items, metadata, b.ledger, b.carried, options)


# --- comparing what the API holds with the plan ---------------------------------------------------------------


def fingerprint(item: dict[str, Any]) -> str:
    """A stable digest of what an item says, equal for a planned item and the API's copy of it."""
    kind = item.get("type") or ("message" if "role" in item else "")
    if kind == "message":
        parts = []
        for part in item.get("content") or []:
            ptype = part.get("type")
            if ptype in ("input_text", "output_text"):
                parts.append([ptype, part.get("text") or ""])
            elif ptype == "refusal":
                parts.append([ptype, part.get("refusal") or ""])
            elif ptype == "input_image":
                parts.append([ptype, part.get("image_url") or "", part.get("file_id") or ""])
            else:
                parts.append([str(ptype)])
        body: Any = ["message", item.get("role"), parts]
    elif kind == "function_call":
        body = ["function_call", item.get("call_id"), item.get("name"), item.get("arguments")]
    elif kind == "function_call_output":
        output = item.get("output")
        body = ["function_call_output", item.get("call_id"),
                output if isinstance(output, str) else json.dumps(output, sort_keys=True)]
    else:
        body = [str(kind), item.get("id")]
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8", "surrogatepass")).hexdigest()[:24]


def batches(items: list[dict[str, Any]], start: int = 0) -> list[tuple[int, list[dict[str, Any]]]]:
    """``[(offset, items)]`` of at most BATCH_SIZE from ``start``."""
    return [(i, items[i:i + BATCH_SIZE]) for i in range(start, len(items), BATCH_SIZE)]
