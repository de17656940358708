"""Line diffs of definition fields for the drift history (rendered with the stylesheet's ``.diff``)."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

CONTEXT = 2


@dataclass(frozen=True)
class DiffLine:
    op: str  # "equal" | "insert" | "delete" | "skip"
    text: str


def _lines(value: Any) -> list[str]:
    if value is None:
        return ["(not set)"]
    if isinstance(value, str):
        return value.splitlines() or [""]
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def line_diff(before: Any, after: Any, *, context: int = CONTEXT) -> list[DiffLine]:
    """Changed lines with ``context`` unchanged lines around them; longer unchanged runs collapse to one
    "… n unchanged lines …" entry."""
    old, new = _lines(before), _lines(after)
    out: list[DiffLine] = []
    for group in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_grouped_opcodes(context):
        if out:
            out.append(DiffLine("skip", "…"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [DiffLine("equal", line) for line in old[i1:i2]]
                continue
            if tag in ("replace", "delete"):
                out += [DiffLine("delete", line) for line in old[i1:i2]]
            if tag in ("replace", "insert"):
                out += [DiffLine("insert", line) for line in new[j1:j2]]
    return out


def revision_diffs(revision) -> list[tuple[str, list[DiffLine]]]:
    return [(field, line_diff(revision.before.get(field), revision.after.get(field)))
            for field in revision.changed_fields]
