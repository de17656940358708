"""Drift: an upstream assistant's migration-relevant definition changed since the last import.

The definition is the part of an assistant that shapes its behaviour and therefore the migrated prompt:
instructions, model, tools, tool_resources, response_format, temperature, top_p, reasoning_effort and
metadata. Name and description are labels; changing them updates the row but is not drift.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from migrator.core.models import Assistant
from migrator.core.signals import assistant_definition_changed

logger = logging.getLogger(__name__)

DEFINITION_FIELDS = (
    "instructions",
    "model",
    "tools",
    "tool_resources",
    "response_format",
    "temperature",
    "top_p",
    "reasoning_effort",
    "metadata",
)


def _normal(field: str, value: Any) -> Any:
    if field in ("temperature", "top_p"):
        return None if value is None else float(value)
    if field in ("instructions", "model", "reasoning_effort"):
        return value or ""
    if field == "tools":
        return value or []
    if field in ("tool_resources", "metadata"):
        return value or {}
    return value


def definition_of(values: dict[str, Any] | Assistant) -> dict[str, Any]:
    """The definition dict from cleaned archive values or from a stored Assistant."""
    if isinstance(values, Assistant):
        return {f: _normal(f, getattr(values, f)) for f in DEFINITION_FIELDS}
    return {f: _normal(f, values.get(f)) for f in DEFINITION_FIELDS}


def definition_hash(definition: dict[str, Any]) -> str:
    canonical = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [f for f in DEFINITION_FIELDS if before.get(f) != after.get(f)]


def notify(*, assistant: Assistant, before: dict, after: dict, fields: list[str], actor) -> list[str]:
    """Send ``assistant_definition_changed`` (after the assistant's row is committed). Receivers (the prompts
    app) regenerate drafts and move the status back to review. Returns readable failures, if any."""
    failures = []
    responses = assistant_definition_changed.send_robust(
        sender=Assistant, assistant=assistant, before=before, after=after, changed_fields=fields, actor=actor
    )
    for receiver, response in responses:
        if isinstance(response, Exception):
            name = getattr(receiver, "__qualname__", repr(receiver))
            logger.error("drift receiver %s failed for %s", name, assistant.legacy_id, exc_info=response)
            failures.append(f"{name}: {type(response).__name__}: {response}")
    return failures
