"""Check one raw Assistants API object and turn it into the column values the importer writes.

Each ``clean_*`` function takes the object as the API (or an archive) gave it and returns a plain dict, or
raises :class:`Rejected` naming the field and a readable reason. No database access happens here, so an
invalid object never reaches a transaction. Leniency is deliberate and documented in docs/export-format.md:
what real dumps get wrong harmlessly (``created_at`` as a numeric string, ``metadata`` as a JSON string) is
accepted; what would make the object meaningless or unsafe (no id, wrong types, unknown tool types, text
beyond the API's limits) is rejected.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from migrator.core import safeinput

MAX_ID = 128
MAX_NAME = 256
MAX_MODEL = 128
MAX_INSTRUCTIONS = 256_000  # the Assistants API limit
MAX_DESCRIPTION = 512 * 8  # the API allows 512; older dumps and compatible servers went further
MAX_MESSAGE_TEXT = 1_000_000
MAX_TOOLS = 128
MAX_METADATA_BYTES = 64_000
KNOWN_TOOL_TYPES = ("function", "file_search", "code_interpreter")
V1_TOOL_TYPES = ("retrieval",)  # v1's name of file_search; real v1-era dumps carry it
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
MESSAGE_ROLES = ("user", "assistant")
_EARLIEST = 946_684_800  # 2000-01-01: anything earlier is a unit mistake (ms vs s) or garbage
_LATEST = 4_102_444_800  # 2100-01-01
_ID_RE = re.compile(r"^[A-Za-z0-9_\-.:]+$")


class Rejected(Exception):
    """An object that cannot be imported; ``field`` is a JSON path inside the object."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


def object_id(obj: dict[str, Any], field: str = "id") -> str:
    value = obj.get(field)
    if value is None or value == "":
        raise Rejected(
            field,
            f"missing; every object needs the '{field}' the Assistants API gave it (it is the key that makes "
            "re-imports idempotent). Request bodies such as assistants.create parameters are not API objects: "
            "add the id the API returned.",
        )
    return legacy_id(value, field)


def legacy_id(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise Rejected(field, f"must be a string id, got {_type_name(value)}")
    value = value.strip()
    if not value:
        raise Rejected(field, "must not be empty")
    if len(value) > MAX_ID:
        raise Rejected(field, f"is {len(value)} characters; ids are at most {MAX_ID}")
    if not _ID_RE.match(value):
        raise Rejected(field, f"{value[:40]!r} is not an API id (letters, digits, '_', '-', '.', ':' only)")
    return value


def optional_id(obj: dict[str, Any], field: str) -> str:
    value = obj.get(field)
    if value is None or value == "":
        return ""
    return legacy_id(value, field)


def check_object(obj: dict[str, Any], expected: str) -> None:
    value = obj.get("object")
    if value is not None and value != expected:
        raise Rejected("object", f"is {value!r}; expected {expected!r} here")


def timestamp(value: Any, field: str) -> datetime | None:
    """Unix seconds (int, float or numeric string) or an ISO-8601 string; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Rejected(field, "must be a Unix timestamp in seconds, got a boolean")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise Rejected(field, f"{text[:40]!r} is neither a Unix timestamp nor an ISO-8601 date") from None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if not isinstance(value, int | float):
        raise Rejected(field, f"must be a Unix timestamp in seconds, got {_type_name(value)}")
    if not _EARLIEST <= value <= _LATEST:
        hint = " (milliseconds? the API uses seconds)" if value > _LATEST else ""
        raise Rejected(field, f"{value} is not a plausible Unix timestamp in seconds{hint}")
    return datetime.fromtimestamp(value, tz=UTC)


def storable(value: str, field: str) -> str:
    """Text any database can keep: no NUL characters (PostgreSQL refuses them) and no unpaired surrogates."""
    if "\x00" in value:
        raise Rejected(field, "contains a NUL character (\\u0000), which the database cannot store")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Rejected(field, "contains an unpaired UTF-16 surrogate (invalid Unicode text)") from None
    return value


def optional_str(obj: dict[str, Any], field: str, limit: int | None = None) -> str:
    value = obj.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Rejected(field, f"must be a string, got {_type_name(value)}")
    if limit is not None and len(value) > limit:
        raise Rejected(field, f"is {len(value):,} characters; at most {limit:,} are accepted")
    return storable(value, field)


def optional_number(obj: dict[str, Any], field: str, low: float, high: float) -> float | None:
    value = obj.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Rejected(field, f"must be a number, got {_type_name(value)}")
    if not low <= value <= high:
        raise Rejected(field, f"{value} is outside {low:g}..{high:g}")
    return float(value)


def json_object(obj: dict[str, Any], field: str) -> dict[str, Any]:
    """An object field; null is {}; a string holding a JSON object (a printer artifact) is accepted."""
    value = obj.get(field)
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            parsed = safeinput.loads(value) if value.strip() else {}
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise Rejected(field, "must be an object, got a string that is not a JSON object")
        value = parsed
    if not isinstance(value, dict):
        raise Rejected(field, f"must be an object, got {_type_name(value)}")
    if field == "metadata" and len(json.dumps(value)) > MAX_METADATA_BYTES:
        raise Rejected(field, f"is larger than {MAX_METADATA_BYTES:,} bytes of JSON")
    return value


def json_list(obj: dict[str, Any], field: str) -> list[Any]:
    value = obj.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Rejected(field, f"must be an array, got {_type_name(value)}")
    return value


# --- assistants -----------------------------------------------------------------------------------------
def clean_tools(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Rejected("tools", f"must be an array, got {_type_name(value)}")
    if len(value) > MAX_TOOLS:
        raise Rejected("tools", f"has {len(value)} tools; the Assistants API allows at most {MAX_TOOLS}")
    for i, tool in enumerate(value):
        where = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise Rejected(where, f"must be an object, got {_type_name(tool)}")
        kind = tool.get("type")
        if not isinstance(kind, str) or not kind:
            keys = ", ".join(sorted(tool)[:6]) or "no keys"
            raise Rejected(
                f"{where}.type",
                f"missing; a tool needs a string 'type' (this one has {keys}). A flat Responses-style function "
                "tool must be wrapped as {\"type\": \"function\", \"function\": {...}}",
            )
        if kind not in KNOWN_TOOL_TYPES and kind not in V1_TOOL_TYPES:
            raise Rejected(
                f"{where}.type",
                f"unknown tool type {kind[:60]!r}; the Assistants API knows "
                f"{', '.join(KNOWN_TOOL_TYPES)} (and v1's 'retrieval')",
            )
        if kind == "function":
            function = tool.get("function")
            if not isinstance(function, dict):
                raise Rejected(f"{where}.function", f"must be an object, got {_type_name(function)}")
            name = function.get("name")
            if not isinstance(name, str) or not name:
                raise Rejected(f"{where}.function.name", "a function tool needs a non-empty string name")
            params = function.get("parameters")
            if params is not None and not isinstance(params, dict):
                raise Rejected(f"{where}.function.parameters", f"must be an object, got {_type_name(params)}")
    return value


def clean_response_format(value: Any) -> Any:
    if value is None or value == "auto":
        return value
    if isinstance(value, dict):
        kind = value.get("type")
        if not isinstance(kind, str):
            raise Rejected("response_format.type", "must be a string such as 'text', 'json_object' or 'json_schema'")
        if kind == "json_schema" and not isinstance(value.get("json_schema"), dict):
            raise Rejected("response_format.json_schema", "must be an object when the type is 'json_schema'")
        return value
    raise Rejected("response_format", f"must be 'auto' or an object, got {_type_name(value)}")


def clean_assistant(obj: dict[str, Any]) -> dict[str, Any]:
    check_object(obj, "assistant")
    legacy = object_id(obj)
    model = obj.get("model")
    if not isinstance(model, str) or not model.strip():
        reason = "missing" if model is None else f"must be a non-empty string, got {_type_name(model)}"
        raise Rejected("model", f"{reason}; every assistant object names its model")
    if len(model) > MAX_MODEL:
        raise Rejected("model", f"is {len(model)} characters; at most {MAX_MODEL}")
    tool_resources = json_object(obj, "tool_resources")
    for kind, resource in tool_resources.items():
        if resource is not None and not isinstance(resource, dict):
            raise Rejected(f"tool_resources.{kind}", f"must be an object, got {_type_name(resource)}")
    effort = obj.get("reasoning_effort")
    if effort is not None and (not isinstance(effort, str) or effort not in REASONING_EFFORTS):
        raise Rejected("reasoning_effort", f"{effort!r} is not one of {', '.join(REASONING_EFFORTS)}")
    return {
        "legacy_id": legacy,
        "name": optional_str(obj, "name", MAX_NAME),
        "description": optional_str(obj, "description", MAX_DESCRIPTION),
        "model": model.strip(),
        "instructions": optional_str(obj, "instructions", MAX_INSTRUCTIONS),
        "tools": clean_tools(obj.get("tools")),
        "tool_resources": tool_resources,
        "response_format": clean_response_format(obj.get("response_format")),
        "temperature": optional_number(obj, "temperature", 0, 2),
        "top_p": optional_number(obj, "top_p", 0, 1),
        "reasoning_effort": effort or "",
        "metadata": json_object(obj, "metadata"),
        "legacy_created_at": timestamp(obj.get("created_at"), "created_at"),
        "raw": obj,
    }


# --- threads, messages, runs, steps -------------------------------------------------------------------
def clean_thread(obj: dict[str, Any]) -> dict[str, Any]:
    check_object(obj, "thread")
    return {
        "legacy_id": object_id(obj),
        "metadata": json_object(obj, "metadata"),
        "tool_resources": json_object(obj, "tool_resources"),
        "created_at_legacy": timestamp(obj.get("created_at"), "created_at"),
        "raw": obj,
    }


_MESSAGE_COLUMNS = {"id", "object", "thread_id", "role", "content", "attachments", "metadata", "run_id",
                    "assistant_id", "created_at"}


def text_of(content: list[dict[str, Any]]) -> str:
    """Plain text of message content parts (image parts become short placeholders)."""
    pieces: list[str] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            text = part.get("text")
            value = text.get("value") if isinstance(text, dict) else text
            if isinstance(value, str):
                pieces.append(value)
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            pieces.append(part["refusal"])
        elif kind == "image_file":
            file_id = (part.get("image_file") or {}).get("file_id", "")
            pieces.append(f"[image {file_id}]")
        elif kind == "image_url":
            pieces.append(f"[image {(part.get('image_url') or {}).get('url', '')}]")
    return "\n".join(pieces)


def clean_content(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):  # rebuilt dumps sometimes flatten content to a string
        return [{"type": "text", "text": {"value": value, "annotations": []}}]
    if value is None:
        return []
    if not isinstance(value, list):
        raise Rejected("content", f"must be an array of content parts, got {_type_name(value)}")
    for i, part in enumerate(value):
        if not isinstance(part, dict):
            raise Rejected(f"content[{i}]", f"must be an object, got {_type_name(part)}")
        kind = part.get("type")
        if not isinstance(kind, str):
            raise Rejected(f"content[{i}].type", "a content part needs a string 'type'")
        if kind == "text":
            text = part.get("text")
            value_ = text.get("value") if isinstance(text, dict) else text
            if not isinstance(value_, str):
                raise Rejected(f"content[{i}].text.value", f"must be a string, got {_type_name(value_)}")
    return value


_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
REPLACED_KEY = "migrator_replaced"  # in a message's ``extra``: what the import replaced (the backfill ledger says so)


def _replace_bad_chars(value: Any, where: str, found: list[str]) -> Any:
    """NUL and unpaired surrogates → U+FFFD (one for one) in every string of ``value``, noting where: PostgreSQL
    stores neither, and a replaced character is better than a lost turn."""
    if isinstance(value, str):
        if "\x00" not in value and not _has_surrogate(value):
            return value
        fixed, n = _BAD_CHARS.subn("\ufffd", value)
        if n:
            found.append(f"{where}: {n} character(s) (NUL or unpaired surrogate) replaced by U+FFFD")
        return fixed
    if isinstance(value, list):
        return [_replace_bad_chars(item, f"{where}[{i}]", found) for i, item in enumerate(value)]
    if isinstance(value, dict):
        return {key: _replace_bad_chars(item, f"{where}.{key}", found) for key, item in value.items()}
    return value


def _has_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def clean_message(obj: dict[str, Any], *, thread_hint: str = "") -> dict[str, Any]:
    check_object(obj, "thread.message")
    legacy = object_id(obj)
    thread_id = optional_id(obj, "thread_id") or thread_hint
    if not thread_id:
        raise Rejected("thread_id", "missing; a message must name its thread (or sit inside a thread object)")
    role = obj.get("role")
    if role not in MESSAGE_ROLES:
        raise Rejected("role", f"{role!r} is not 'user' or 'assistant'")
    replaced: list[str] = []
    content = _replace_bad_chars(clean_content(obj.get("content")), "content", replaced)
    text = text_of(content)
    if len(text) > MAX_MESSAGE_TEXT:
        raise Rejected("content", f"holds {len(text):,} characters of text; at most {MAX_MESSAGE_TEXT:,} per message")
    storable(text, "content")
    attachments = json_list(obj, "attachments")
    for i, attachment in enumerate(attachments):
        if not isinstance(attachment, dict):
            raise Rejected(f"attachments[{i}]", f"must be an object, got {_type_name(attachment)}")
    return {
        "legacy_id": legacy,
        "thread_legacy_id": thread_id,
        "role": role,
        "content": content,
        "text": text,
        "attachments": attachments,
        "metadata": json_object(obj, "metadata"),
        "run_legacy_id": optional_id(obj, "run_id"),
        "assistant_legacy_id": optional_id(obj, "assistant_id"),
        "created_at_legacy": timestamp(obj.get("created_at"), "created_at"),
        "extra": {**{k: v for k, v in obj.items() if k not in _MESSAGE_COLUMNS},
                  **({REPLACED_KEY: replaced} if replaced else {})},
        "replaced": replaced,
    }


def tool_call_key(call: dict[str, Any]) -> str:
    kind = str(call.get("type") or "unknown")
    if kind == "function":
        name = (call.get("function") or {}).get("name")
        return f"function:{name}" if name else "function"
    return kind


def count_tool_calls(steps: list[dict[str, Any]], run: dict[str, Any] | None = None) -> dict[str, int]:
    """{"function:get_invoice": 3, "file_search": 1} from run steps; a run without steps that stopped on
    ``requires_action`` counts the calls it asked for."""
    counts: dict[str, int] = {}
    for step in steps:
        details = step.get("step_details") or {}
        if details.get("type") != "tool_calls":
            continue
        for call in details.get("tool_calls") or []:
            if isinstance(call, dict):
                key = tool_call_key(call)
                counts[key] = counts.get(key, 0) + 1
    if not steps and run:
        action = run.get("required_action") or {}
        for call in (action.get("submit_tool_outputs") or {}).get("tool_calls") or []:
            if isinstance(call, dict):
                key = tool_call_key(call)
                counts[key] = counts.get(key, 0) + 1
    return counts


def clean_step(obj: dict[str, Any], *, run_hint: str = "", thread_hint: str = "") -> dict[str, Any]:
    check_object(obj, "thread.run.step")
    legacy = object_id(obj)
    run_id = optional_id(obj, "run_id") or run_hint
    if not run_id:
        raise Rejected("run_id", "missing; a run step must name its run (or sit inside a run object)")
    details = obj.get("step_details")
    if not isinstance(details, dict) or not isinstance(details.get("type"), str):
        raise Rejected("step_details", "must be an object with a string 'type'")
    calls = details.get("tool_calls")
    if details["type"] == "tool_calls" and not isinstance(calls, list):
        raise Rejected("step_details.tool_calls", f"must be an array, got {_type_name(calls)}")
    return {"legacy_id": legacy, "run_legacy_id": run_id,
            "thread_legacy_id": optional_id(obj, "thread_id") or thread_hint, "raw": obj}


def clean_run(obj: dict[str, Any], *, thread_hint: str = "") -> dict[str, Any]:
    check_object(obj, "thread.run")
    legacy = object_id(obj)
    thread_id = optional_id(obj, "thread_id") or thread_hint
    if not thread_id:
        raise Rejected("thread_id", "missing; a run must name its thread (or sit inside a thread object)")
    usage = obj.get("usage")
    if usage is not None and not isinstance(usage, dict):
        raise Rejected("usage", f"must be an object or null, got {_type_name(usage)}")
    status = optional_str(obj, "status", 32)
    model = optional_str(obj, "model", MAX_MODEL)
    raw = {k: v for k, v in obj.items() if k != "steps"}
    steps: list[dict[str, Any]] = []
    nested = obj.get("steps")
    if isinstance(nested, dict):  # a list page
        nested = nested.get("data")
    if nested is not None:
        if not isinstance(nested, list):
            raise Rejected("steps", f"must be an array of run steps, got {_type_name(nested)}")
        for i, step in enumerate(nested):
            if not isinstance(step, dict):
                raise Rejected(f"steps[{i}]", f"must be an object, got {_type_name(step)}")
            try:
                steps.append(clean_step(step, run_hint=legacy, thread_hint=thread_id)["raw"])
            except Rejected as exc:
                raise Rejected(f"steps[{i}].{exc.field}", exc.reason) from None
    return {
        "legacy_id": legacy,
        "thread_legacy_id": thread_id,
        "assistant_legacy_id": optional_id(obj, "assistant_id"),
        "status": status,
        "model": model,
        "usage": usage,
        "steps": steps,
        "tool_calls": count_tool_calls(steps, obj),
        "created_at_legacy": timestamp(obj.get("created_at"), "created_at"),
        "raw": raw,
    }


# --- vector stores, files, thread list entries --------------------------------------------------------
def clean_vector_store(obj: dict[str, Any]) -> dict[str, Any]:
    check_object(obj, "vector_store")
    legacy = object_id(obj)
    file_counts = json_object(obj, "file_counts")
    usage_bytes = obj.get("usage_bytes")
    if usage_bytes is not None and (isinstance(usage_bytes, bool) or not isinstance(usage_bytes, int)):
        raise Rejected("usage_bytes", f"must be an integer, got {_type_name(usage_bytes)}")
    file_ids = [legacy_id(f, f"file_ids[{i}]") for i, f in enumerate(json_list(obj, "file_ids"))]
    expires_after = obj.get("expires_after")
    if expires_after is not None and not isinstance(expires_after, dict):
        raise Rejected("expires_after", f"must be an object or null, got {_type_name(expires_after)}")
    return {
        "legacy_id": legacy,
        "name": optional_str(obj, "name", 256),
        "status": optional_str(obj, "status", 32),
        "file_counts": file_counts,
        "file_ids": file_ids,
        "usage_bytes": usage_bytes,
        "expires_after": expires_after,
        "expires_at": timestamp(obj.get("expires_at"), "expires_at"),
        "last_active_at": timestamp(obj.get("last_active_at"), "last_active_at"),
        "created_at_legacy": timestamp(obj.get("created_at"), "created_at"),
        "metadata": json_object(obj, "metadata"),
        "raw": obj,
    }


def clean_file(obj: dict[str, Any]) -> dict[str, Any]:
    check_object(obj, "file")
    legacy = object_id(obj)
    size = obj.get("bytes")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
        raise Rejected("bytes", f"must be an integer, got {_type_name(size)}")
    return {
        "legacy_id": legacy,
        "filename": optional_str(obj, "filename", 512),
        "bytes": size,
        "purpose": optional_str(obj, "purpose", 32),
        "status": optional_str(obj, "status", 32),
        "expires_at": timestamp(obj.get("expires_at"), "expires_at"),
        "created_at_legacy": timestamp(obj.get("created_at"), "created_at"),
        "raw": obj,
    }


def clean_tags(value: Any, field: str = "tags") -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [t for t in re.split(r"[;|,]", value)]
    if not isinstance(value, list):
        raise Rejected(field, f"must be a list of strings or a ';'-separated string, got {_type_name(value)}")
    tags: list[str] = []
    for i, tag in enumerate(value):
        if not isinstance(tag, str):
            raise Rejected(f"{field}[{i}]", f"must be a string, got {_type_name(tag)}")
        tag = tag.strip()
        if len(tag) > 64:
            raise Rejected(f"{field}[{i}]", "a tag is at most 64 characters")
        if tag and tag not in tags:
            tags.append(tag)
    return tags


_SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+$")


def clean_flow(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Rejected("flow", f"must be a string, got {_type_name(value)}")
    value = value.strip()
    if value and (len(value) > 100 or not _SLUG_RE.match(value)):
        raise Rejected("flow", f"{value[:40]!r} is not a slug (letters, digits, '-' and '_', at most 100)")
    return value


def clean_thread_info(obj: dict[str, Any]) -> dict[str, Any]:
    """One entry of the user's thread list: thread id plus optional flow, end-user id, tags, assistant id."""
    thread_id = obj.get("thread_id", obj.get("id"))
    if thread_id is None or thread_id == "":
        raise Rejected("thread_id", "missing; each thread list entry needs a thread id")
    end_user = obj.get("end_user_id")
    if end_user is not None and not isinstance(end_user, str | int):
        raise Rejected("end_user_id", f"must be a string, got {_type_name(end_user)}")
    end_user = "" if end_user is None else str(end_user).strip()
    if len(end_user) > 200:
        raise Rejected("end_user_id", "is longer than 200 characters")
    return {
        "thread_legacy_id": legacy_id(thread_id, "thread_id"),
        "flow_slug": clean_flow(obj.get("flow")),
        "end_user_id": end_user,
        "tags": clean_tags(obj.get("tags")),
        "assistant_legacy_id": optional_id(obj, "assistant_id"),
    }
