"""Offline validation of a planned conversation item against the ``openai`` SDK's parameter types, before it is
ever sent (``check_item``). Pure: no database, no network."""

from __future__ import annotations

import functools
import typing
from collections.abc import Iterable
from typing import Any

from openai.types.responses import (
    EasyInputMessageParam,
    ResponseFunctionToolCallParam,
    ResponseInputImageParam,
    ResponseInputTextParam,
    ResponseOutputMessageParam,
    ResponseOutputRefusalParam,
    ResponseOutputTextParam,
)
from openai.types.responses.response_input_item_param import FunctionCallOutput
from pydantic import TypeAdapter, ValidationError

CALL_ID_MAX = 64

_ADAPTERS: dict[str, TypeAdapter[Any]] = {}
_PART_TYPES: dict[str, Any] = {
    "input_text": ResponseInputTextParam, "input_image": ResponseInputImageParam,
    "output_text": ResponseOutputTextParam, "refusal": ResponseOutputRefusalParam,
}
_ITEM_TYPES: dict[str, Any] = {
    "user": EasyInputMessageParam, "assistant": ResponseOutputMessageParam,
    "function_call": ResponseFunctionToolCallParam, "function_call_output": FunctionCallOutput,
}


def _adapter(name: str, kind: Any) -> TypeAdapter[Any]:
    if name not in _ADAPTERS:
        _ADAPTERS[name] = TypeAdapter(kind)
    return _ADAPTERS[name]


def _materialize(value: Any) -> Any:
    """Validated TypedDicts keep ``Iterable`` fields as lazy iterators; walking them runs their validation."""
    if isinstance(value, dict):
        return {k: _materialize(v) for k, v in value.items()}
    if isinstance(value, (str, bytes, int, float, bool)) or value is None:
        return value
    if isinstance(value, Iterable):
        return [_materialize(v) for v in value]
    return value


@functools.cache
def _known_keys(kind: Any) -> frozenset[str]:
    return frozenset(typing.get_type_hints(kind))


def _unknown_keys(value: dict[str, Any], kind: Any) -> list[str]:
    return sorted(set(value) - _known_keys(kind))


def check_item(item: dict[str, Any]) -> str:
    """'' when ``item`` is a valid conversation input item per the SDK's types, else what is wrong.

    An assistant message is checked as a ``ResponseOutputMessageParam`` less the server-assigned ``id`` and
    ``status`` (the spec's EasyInputMessage content list has no ``output_text``; the API takes assistant
    history without ids). Unknown keys are refused too, which pydantic's TypedDict validation lets through.
    """
    kind = item.get("type")
    key = item.get("role") if kind == "message" else kind
    target = _ITEM_TYPES.get(str(key))
    if target is None:
        return f"no client-creatable item of type {kind!r} / role {item.get('role')!r}"
    extra = _unknown_keys(item, target)
    if extra:
        return f"unknown key(s) {', '.join(extra)}"
    candidate = dict(item)
    if key == "assistant":
        candidate.update({"id": "msg_planned", "status": "completed"})
    if kind == "message":
        for j, part in enumerate(item.get("content") or []):
            part_type = _PART_TYPES.get(part.get("type")) if isinstance(part, dict) else None
            allowed = ("output_text", "refusal") if key == "assistant" else ("input_text", "input_image")
            if part_type is None or part.get("type") not in allowed:
                return f"content[{j}] of type {part.get('type') if isinstance(part, dict) else part!r} " \
                       f"is not allowed on a {key} message"
            extra = _unknown_keys(part, part_type)
            if extra:
                return f"content[{j}]: unknown key(s) {', '.join(extra)}"
            # Each part against its own type first: a union's errors would name every branch.
            problem = _validate(part["type"], part_type, part)
            if problem:
                return f"content[{j}].{problem}"
    return _validate(str(key), target, candidate) or (
        f"call_id must be 1–{CALL_ID_MAX} characters"
        if kind == "function_call_output" and not 1 <= len(item.get("call_id") or "") <= CALL_ID_MAX else "")


def _validate(name: str, kind: Any, value: dict[str, Any]) -> str:
    try:
        _materialize(_adapter(name, kind).validate_python(value))
    except ValidationError as exc:
        first = max(exc.errors(), key=lambda e: len(e["loc"]))  # the deepest: the branch that matched the shape
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return ""
