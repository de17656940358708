"""Strict-mode decisions resolve the ledger lines that asked for them.

A generated version asks "needs a decision" on each schema strict mode would reject. Once a person chooses
(the strict panel, or an edit of that schema), the version's ``strict_choices`` records who chose what; the
ledger line then says what was decided instead of still asking. Pure: used when a version is saved and when
older versions are shown.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from migrator.tools.conversion.types import CHANGED, NEEDS_DECISION, TRANSFERRED

GENERATED = "generated"


def strict_target(schema_pointer: str) -> str:
    """``/tools/2/parameters`` → ``/tools/2/strict``; ``/text/format/schema`` → ``/text/format/strict``."""
    return schema_pointer.rsplit("/", 1)[0] + "/strict"


def is_decided(choice: dict[str, Any] | None) -> bool:
    """A choice a person made (generated defaults are not decisions)."""
    return bool(choice) and bool(choice.get("by")) and choice.get("by") != GENERATED


def describe_choice(choice: dict[str, Any]) -> str:
    what = "the fixed schema with strict: true" if choice.get("choice") == "fixed" else \
        "the original schema with strict: false"
    when = ""
    if choice.get("at"):
        try:
            when = " on " + datetime.fromisoformat(str(choice["at"])).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            when = ""
    return f"Decided by {choice.get('by')}{when}: {what}."


def resolve_ledger(ledger: list[dict[str, Any]], strict_choices: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The ledger with each strict "needs a decision" line that a person has decided rewritten as decided."""
    decided = {strict_target(pointer): choice for pointer, choice in (strict_choices or {}).items()
               if is_decided(choice)}
    if not decided:
        return ledger
    out = []
    for entry in ledger:
        choice = decided.get(entry.get("target", ""))
        if choice is not None and (entry.get("outcome") == NEEDS_DECISION or "decided" in entry):
            entry = copy.deepcopy(entry)
            entry.setdefault("generated_reason", entry.get("reason", ""))
            entry["outcome"] = CHANGED if choice.get("choice") == "fixed" else TRANSFERRED
            entry["reason"] = describe_choice(choice)
            entry["after"] = bool(choice.get("strict"))
            entry["decided"] = {k: choice.get(k) for k in ("choice", "strict", "by", "at")}
        out.append(entry)
    return out
