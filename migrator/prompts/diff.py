"""Server-side, word-level side-by-side diff (difflib over word tokens), rendered with escaped ins/del."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Words (ids like gpt-4o-mini or 2026-10-23 stay whole), runs of whitespace (kept so the text reflows
# exactly), and single punctuation characters.
_TOKEN = re.compile(r"\s+|\w+(?:[.\-/:]\w+)*|[^\w\s]", re.UNICODE)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text or "")


@dataclass
class SideBySide:
    left: SafeString
    right: SafeString
    changed: bool
    added: int  # words added on the right
    removed: int  # words removed from the left


def _words(parts: list[str]) -> int:
    return sum(1 for p in parts if not p.isspace())


def _merge_whitespace(opcodes: list[tuple[str, int, int, int, int]], a: list[str]) -> list[tuple]:
    """Fold a whitespace-only "equal" run between two changes into one change, so "the thread" → "this
    conversation" reads as one replacement rather than two."""
    merged: list[list] = []
    for index, (op, i1, i2, j1, j2) in enumerate(opcodes):
        between = 0 < index < len(opcodes) - 1 and opcodes[index + 1][0] != "equal"
        if op == "equal" and between and merged and merged[-1][0] != "equal" and all(t.isspace() for t in a[i1:i2]):
            op = "replace"
        if merged and op != "equal" and merged[-1][0] != "equal":
            merged[-1] = ["replace", merged[-1][1], i2, merged[-1][3], j2]
        else:
            merged.append([op, i1, i2, j1, j2])
    return [tuple(m) for m in merged]


def word_diff(old: str, new: str) -> SideBySide:
    a, b = tokens(old), tokens(new)
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    left: list[str] = []
    right: list[str] = []
    added = removed = 0
    for op, i1, i2, j1, j2 in _merge_whitespace(matcher.get_opcodes(), a):
        old_part, new_part = "".join(a[i1:i2]), "".join(b[j1:j2])
        if op == "equal":
            left.append(escape(old_part))
            right.append(escape(new_part))
            continue
        if i2 > i1:
            left.append(f"<del>{escape(old_part)}</del>")
            removed += _words(a[i1:i2])
        if j2 > j1:
            right.append(f"<ins>{escape(new_part)}</ins>")
            added += _words(b[j1:j2])
    return SideBySide(
        left=mark_safe("".join(left)),  # every piece above is escaped
        right=mark_safe("".join(right)),
        changed=bool(added or removed),
        added=added,
        removed=removed,
    )


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False) if value not in (None, {}) else ""


def config_sections(config: dict[str, Any]) -> dict[str, str]:
    """The parts a reviewer compares separately: instructions as text, everything else as JSON."""
    rest = {k: v for k, v in (config or {}).items() if k != "instructions"}
    return {"instructions": (config or {}).get("instructions") or "", "settings": pretty(rest)}


def compare_configs(old: dict[str, Any], new: dict[str, Any]) -> dict[str, SideBySide]:
    a, b = config_sections(old), config_sections(new)
    return {name: word_diff(a[name], b[name]) for name in a}
