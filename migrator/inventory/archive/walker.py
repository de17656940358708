"""The JSON-document side of the archive reader: ijson's basic events turned into records, with objects at section
items emitted as records and the children nested in a thread (messages, runs) or run (steps) cut out one by one,
within the depth limit however deep the input is nested."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import ijson

from migrator.inventory.archive.numberguard import REASON as NUMBER_REASON
from migrator.inventory.archive.numberguard import SENTINEL_TEXT as NUMBER_SENTINEL
from migrator.inventory.archive.records import (
    CHILDREN,
    SECTIONS,
    WRAPPER_DEPTH,
    Header,
    Problem,
    Record,
    short,
)

if TYPE_CHECKING:
    from migrator.inventory.archive.reader import ArchiveReader


class _Capture:
    __slots__ = ("bad", "builder", "children", "counters", "depth", "kind", "prefix", "skip", "where")

    def __init__(self, prefix: str, kind: str | None, where: str) -> None:
        self.prefix = prefix
        self.kind = kind
        self.where = where
        self.builder: ijson.ObjectBuilder | None = ijson.ObjectBuilder()
        self.depth = 0
        self.skip: str | None = None
        self.counters: dict[str, int] = {}
        self.children = CHILDREN.get(kind or "", {})
        self.bad: tuple[str, str] | None = None  # (field, reason): over a limit, no longer built

    @property
    def own_id(self) -> str:
        value = getattr(self.builder, "value", None)
        found = value.get("id") if isinstance(value, dict) else None
        return found if isinstance(found, str) else ""

    def refuse(self, prefix: str, reason: str) -> None:
        if self.bad is None:
            rest = prefix[len(self.prefix) + 1:] if prefix.startswith(f"{self.prefix}.") else ""
            self.bad = (rest.replace(".item", "[]").replace("item", "[]"), reason)
            self.builder = None  # drop what was built so far: the object is lost anyway


_START = ("start_map", "start_array")
_END = ("end_map", "end_array")
_KEY_IN_PREFIX = 256  # longer keys never name a section or child array; keep prefixes short


class DocumentWalker:
    """Turns ijson events into records: objects at section items become records; arrays of children inside a
    thread (messages, runs) or run (steps) are cut out and emitted item by item.

    It keeps the ijson-style prefix (``threads.item.messages.item``) itself, and only down to a fixed depth:
    below that it just counts brackets, so memory stays flat however deep the input is nested."""

    def __init__(self, reader: ArchiveReader) -> None:
        self.reader = reader
        self.limits = reader.limits
        self.stack: list[_Capture] = []
        self.counters: dict[str, int] = {}
        self.saw_anything = False
        self.top_kind: str = ""  # "map" | "array"
        self.header: dict[str, Any] = {}
        self.path: list[str | None] = []
        self.prefixes: list[str | None] = [""]  # prefixes[k] is the prefix of path[:k]
        self.overflow = 0  # brackets open below the tracked depth
        self.max_path = self.limits.max_depth + 2 * WRAPPER_DEPTH

    def position(self) -> str:
        return self.stack[-1].where if self.stack else "document"

    def open_kind(self) -> str | None:
        return self.stack[0].kind if self.stack else None

    def basic(self, event: str, value: Any) -> Iterable[Record | Problem | Header] | None:
        """One ijson basic event → the prefixed event ijson.parse would give, within the depth limit."""
        if self.overflow:
            if event in _START:
                self.overflow += 1
            elif event in _END:
                self.overflow -= 1
            return None
        path, prefixes = self.path, self.prefixes
        if event == "map_key":
            parent = prefixes[len(path) - 1] or ""
            prefix = parent
            key = value if len(value) <= _KEY_IN_PREFIX else value[:_KEY_IN_PREFIX] + "…"
            path[-1] = key
            prefixes[len(path)] = f"{parent}.{key}" if parent else key
        elif event in _START:
            prefix = prefixes[len(path)] or ""
            if len(path) >= self.max_path:
                self.overflow = 1
                return self._too_deep(prefix)
            if event == "start_map":
                path.append(None)
                prefixes.append(None)
            else:
                path.append("item")
                prefixes.append(f"{prefix}.item" if prefix else "item")
        elif event in _END:
            path.pop()
            prefixes.pop()
            prefix = prefixes[len(path)] or ""
        else:
            prefix = prefixes[len(path)] or ""
            if event == "number" and isinstance(value, Decimal):
                value = self._float(prefix, value)
        return self.event(prefix, event, value)

    def _float(self, prefix: str, value: Decimal) -> float | None:
        digits = len(value.as_tuple().digits)
        try:
            number = float(value)
        except (OverflowError, ValueError):
            number = math.inf
        if not math.isfinite(number) or digits > 400:
            if self.stack:
                self.stack[-1].refuse(prefix, f"the number {short(str(value), 40)} is out of range")
            return None
        return number

    def _too_deep(self, prefix: str) -> list[Problem]:
        reason = f"nested deeper than {self.limits.max_depth} levels"
        if self.stack:
            self.stack[-1].refuse(prefix, reason)
            return []
        head = prefix.split(".", 1)[0] or "document"
        return [Problem(head, f"{reason}; this value was skipped.", kind=SECTIONS.get(head))]

    def _capture_kind(self, prefix: str) -> tuple[bool, str | None, str]:
        """(is a capture point, kind, label) for a ``start_map`` at ``prefix``."""
        top = self.stack[-1] if self.stack else None
        if top is None:
            if prefix == "item" and self.top_kind == "array":
                return True, None, ""
            parts = prefix.split(".")
            if len(parts) == 2 and parts[1] == "item" and parts[0] in SECTIONS:
                return True, SECTIONS[parts[0]], parts[0]
            if len(parts) == 3 and parts[1:] == ["data", "item"] and parts[0] in SECTIONS:
                return True, SECTIONS[parts[0]], parts[0]
            return False, None, ""
        if top.skip:
            base = f"{top.prefix}.{top.skip}"
            if prefix in (f"{base}.item", f"{base}.data.item"):
                return True, top.children[top.skip], top.skip
        return False, None, ""

    def event(self, prefix: str, event: str, value: Any) -> Iterable[Record | Problem | Header] | None:
        if not self.top_kind and event in _START:
            self.top_kind = "map" if event == "start_map" else "array"
        if event == "start_map":
            capture, kind, label = self._capture_kind(prefix)
            if capture:
                self._push(prefix, kind, label)
                return None
        top = self.stack[-1] if self.stack else None
        if top is None:
            return self._outside(prefix, event, value)
        if prefix == top.prefix and event == "map_key" and top.depth == 1:
            top.skip = value if value in top.children else None
            if top.skip:
                return None
        elif top.skip and (prefix == f"{top.prefix}.{top.skip}" or prefix.startswith(f"{top.prefix}.{top.skip}.")):
            return None  # the cut-out child array's own wrapper events (list page keys, brackets)
        if event in _START:
            top.depth += 1
            if top.depth > self.limits.max_depth:
                top.refuse(prefix, f"nested deeper than {self.limits.max_depth} levels")
        elif event in _END:
            top.depth -= 1
        elif top.bad is None:
            self._check_scalar(top, prefix, event, value)
        if top.builder is not None:
            top.builder.event(event, value)
        if event in _END and top.depth == 0:
            self.stack.pop()
            return self._emit(top)
        return None

    def _check_scalar(self, top: _Capture, prefix: str, event: str, value: Any) -> None:
        limits = self.limits
        if event == "string" and value == NUMBER_SENTINEL:
            top.refuse(prefix, f"{NUMBER_REASON}; at most {limits.max_number_digits} digits are accepted")
        elif event in ("string", "map_key") and len(value) > limits.max_string_chars:
            what = "a key" if event == "map_key" else "a string"
            top.refuse(prefix, f"{what} of {len(value):,} characters; at most {limits.max_string_chars:,} "
                               "are accepted")
        elif event == "number" and isinstance(value, int) and not isinstance(value, bool):
            digits = len(str(abs(value))) if value.bit_length() < 4 * limits.max_number_digits else \
                int(value.bit_length() * 0.30103) + 1
            if digits > limits.max_number_digits:
                top.refuse(prefix, f"a number with {digits:,} digits; at most {limits.max_number_digits} are "
                                   "accepted")

    def _push(self, prefix: str, kind: str | None, label: str) -> None:
        parent = self.stack[-1] if self.stack else None
        counters = parent.counters if parent else self.counters
        index = counters.get(prefix, 0)
        counters[prefix] = index + 1
        if parent is None:
            where = f"item[{index}]" if prefix == "item" else f"{label}[{index}]"
        else:
            where = f"{parent.where} {label}[{index}]"
        capture = _Capture(prefix, kind, where)
        capture.builder.event("start_map", None)
        capture.depth = 1
        self.stack.append(capture)
        self.saw_anything = True

    def _emit(self, capture: _Capture) -> Iterator[Record | Problem | Header]:
        if capture.bad is not None or capture.builder is None:
            field, reason = capture.bad or ("", "over a limit")
            located = f"{capture.where}, field {field}" if field else capture.where
            yield Problem(located, f"{reason}; the object was skipped.", kind=capture.kind)
            return
        value = capture.builder.value
        thread_hint = run_hint = ""
        for outer in self.stack:
            if outer.kind == "thread":
                thread_hint = outer.own_id
            elif outer.kind == "run":
                run_hint = outer.own_id
        # Children were cut out, so _expand only classifies the object and expands list pages.
        yield from self.reader._expand(value, capture.where, capture.kind, thread_hint, run_hint)

    def _outside(self, prefix: str, event: str, value: Any) -> Iterator[Record | Problem | Header]:
        """Events outside any captured object: header scalars and plain thread-id strings."""
        if event in ("string", "map_key") and len(value) > self.limits.max_string_chars:
            yield Problem(prefix or "document", f"a string of {len(value):,} characters; at most "
                          f"{self.limits.max_string_chars:,} are accepted; it was skipped.")
            return
        if event in ("string", "number", "boolean", "null") and "." not in prefix and prefix:
            self.header[prefix] = value
            self.reader.header[prefix] = value
            if prefix in ("format", "format_version", "object"):
                self.saw_anything = self.saw_anything or prefix != "object"
                yield Header({prefix: value})
            return
        if event == "string" and prefix in ("thread_ids.item", "thread_list.item"):
            self.saw_anything = True
            index = self.counters.get(prefix, 0)
            self.counters[prefix] = index + 1
            yield Record("thread_info", {"thread_id": value}, f"{prefix.split('.')[0]}[{index}]")
            return
        if event in ("string", "number", "boolean", "null") and prefix.endswith(".item") and prefix.split(".")[0] in SECTIONS:
            section = prefix.split(".")[0]
            index = self.counters.get(prefix, 0)
            self.counters[prefix] = index + 1
            yield Problem(f"{section}[{index}]", f"expected an object, found {type(value).__name__}.",
                          kind=SECTIONS[section])
