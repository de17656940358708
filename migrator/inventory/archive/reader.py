"""Stream the objects out of an export archive without ever holding the whole file in memory.

Accepted shapes (see docs/export-format.md): JSON Lines (one object per line; a line may also be a list page
``{"object": "list", "data": [...]}``) or one JSON document (an object with sections such as ``assistants``
and ``threads``, a bare array of objects, or a list page), either of them optionally gzipped. JSON documents
are parsed incrementally with ijson; messages and runs nested in a thread and steps nested in a run are
emitted one by one, so a single huge thread does not have to fit in memory either.

The reader yields :class:`Record` (an object and where it was found) and :class:`Problem` (something that
could not be read: a broken line, a truncated file). It never touches the database.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import ijson

FORMAT_NAME = "migrator.assistants-archive"
FORMAT_VERSION = 1
MAX_LINE_BYTES = 32 * 1024 * 1024

# API ``object`` values → record kinds.
OBJECT_KINDS = {
    "assistant": "assistant",
    "thread": "thread",
    "thread.message": "message",
    "thread.run": "run",
    "thread.run.step": "step",
    "vector_store": "vector_store",
    "file": "file",
    "migrator.thread_info": "thread_info",
}
# Document sections → record kinds (None: each item says what it is with its ``object``).
SECTIONS = {
    "assistants": "assistant",
    "threads": "thread",
    "messages": "message",
    "runs": "run",
    "steps": "step",
    "run_steps": "step",
    "vector_stores": "vector_store",
    "files": "file",
    "thread_list": "thread_info",
    "thread_ids": "thread_info",
    "data": None,
    "objects": None,
}
# Arrays nested inside an object that are emitted as records of their own.
CHILDREN = {"thread": {"messages": "message", "runs": "run"}, "run": {"steps": "step"}}
HEADER_OBJECTS = ("migrator.archive", FORMAT_NAME)
_OBJECT_RE = re.compile(rb'"object"\s*:\s*"([a-z_.]+)"')


@dataclass
class Record:
    kind: str
    obj: dict[str, Any]
    where: str
    thread_hint: str = ""
    run_hint: str = ""


@dataclass
class Problem:
    where: str
    message: str
    kind: str | None = None  # the kind of object that was lost, when it can be told
    fatal: bool = False  # nothing after this point could be read


@dataclass
class Header:
    values: dict[str, Any] = field(default_factory=dict)


class ArchiveError(Exception):
    """The file cannot be read at all (missing, empty, not JSON)."""


class _Progress:
    """Bytes read from the file on disk (compressed bytes for gzip), for a progress bar."""

    def __init__(self, raw: IO[bytes], total: int) -> None:
        self.raw = raw
        self.total = total

    @property
    def done(self) -> int:
        try:
            return min(self.raw.tell(), self.total)
        except (OSError, ValueError):
            return self.total


class ArchiveReader:
    """``for item in ArchiveReader(path): ...``; ``progress.done``/``progress.total`` track bytes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ArchiveError(f"{self.path.name}: no such file.")
        self.size = self.path.stat().st_size
        if self.size == 0:
            raise ArchiveError(f"{self.path.name} is empty.")
        with self.path.open("rb") as fh:
            self.gzipped = fh.read(2) == b"\x1f\x8b"
        self._raw: IO[bytes] | None = None
        self.progress: _Progress | None = None
        self.header: dict[str, Any] = {}

    def _open(self) -> IO[bytes]:
        if self._raw is not None:
            self._raw.close()
        self._raw = self.path.open("rb")
        self.progress = _Progress(self._raw, self.size)
        return gzip.GzipFile(fileobj=self._raw, mode="rb") if self.gzipped else self._raw

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    def __iter__(self) -> Iterator[Record | Problem | Header]:
        try:
            stream = self._open()
            try:
                first = _first_significant_byte(stream)
            except (EOFError, OSError, zlib.error) as exc:
                yield Problem("start of file", f"the gzip stream is corrupt or truncated ({exc}).", fatal=True)
                return
            if first is None:
                yield Problem("start of file", "the archive holds no JSON at all (only whitespace).", fatal=True)
                return
            stream = self._open()
            if first == b"{" and self._looks_like_jsonl(stream):
                yield from self._jsonl(self._open())
            else:
                yield from self._document(self._open())
        finally:
            self.close()

    # --- JSON Lines ---------------------------------------------------------------------------------
    def _looks_like_jsonl(self, stream: IO[bytes]) -> bool:
        """JSON Lines when the first line is a complete JSON object on its own."""
        try:
            line = stream.readline(MAX_LINE_BYTES + 1)
        except (EOFError, OSError, zlib.error):
            return False
        if len(line) > MAX_LINE_BYTES:
            return False  # a huge one-line document: parse it incrementally rather than as one line
        try:
            return isinstance(json.loads(line.lstrip(b"\xef\xbb\xbf")), dict)
        except ValueError:
            return False

    def _jsonl(self, stream: IO[bytes]) -> Iterator[Record | Problem | Header]:
        number = 0
        while True:
            number += 1
            where = f"line {number}"
            try:
                line = stream.readline(MAX_LINE_BYTES + 1)
            except (EOFError, OSError, zlib.error) as exc:
                yield Problem(where, f"the gzip stream ends early or is corrupt ({exc}); the archive is truncated "
                              f"and nothing from this line on could be read.", fatal=True)
                return
            if not line:
                return
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                kind = _guess_kind(line[:65536])
                try:
                    while True:  # skip the rest of the oversized line without keeping it
                        rest = stream.readline(1024 * 1024)
                        if not rest or rest.endswith(b"\n"):
                            break
                except (EOFError, OSError, zlib.error):
                    pass
                yield Problem(where, f"the line is larger than {MAX_LINE_BYTES // (1024 * 1024)} MB; no single API "
                              "object is that large, so it was skipped.", kind=kind)
                continue
            if number == 1:
                line = line.lstrip(b"\xef\xbb\xbf")
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except UnicodeDecodeError:
                yield Problem(where, "the line is not valid UTF-8 text.", kind=_guess_kind(line))
                continue
            except ValueError as exc:
                truncated = not line.endswith(b"\n")
                hint = " The file ends in the middle of this line: it looks truncated." if truncated else ""
                yield Problem(where, f"the line is not valid JSON ({exc}).{hint}", kind=_guess_kind(line))
                continue
            yield from self._expand(value, where)

    def _expand(self, value: Any, where: str, section_kind: str | None = None,
                thread_hint: str = "", run_hint: str = "") -> Iterator[Record | Problem | Header]:
        """One parsed value (a JSONL line, or an item) → records, expanding list pages and nested children."""
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from self._expand(item, f"{where}[{i}]", section_kind, thread_hint, run_hint)
            return
        if isinstance(value, str) and section_kind == "thread_info":
            yield Record("thread_info", {"thread_id": value}, where)
            return
        if not isinstance(value, dict):
            yield Problem(where, f"expected a JSON object, found {type(value).__name__}.", kind=section_kind)
            return
        obj = value.get("object")
        if obj == "list" and isinstance(value.get("data"), list):
            for i, item in enumerate(value["data"]):
                yield from self._expand(item, f"{where} data[{i}]", section_kind, thread_hint, run_hint)
            return
        if obj in HEADER_OBJECTS:
            header = {k: v for k, v in value.items() if k not in SECTIONS}
            self.header.update(header)
            yield Header(header)
            yield from self._sections(value, where)
            return
        if obj is None and section_kind is None and any(isinstance(value.get(k), list | dict) for k in SECTIONS
                                                         if k in value):
            header = {k: v for k, v in value.items() if k not in SECTIONS}
            if header:
                self.header.update(header)
                yield Header(header)
            yield from self._sections(value, where)
            return
        kind = OBJECT_KINDS.get(obj) if isinstance(obj, str) else None
        if kind is None:
            kind = section_kind if obj is None else None
        if kind is None and obj is None:
            kind = _infer_kind(value)
        if kind is None:
            what = f"unknown object type {obj!r}" if obj is not None else "an object without an 'object' field"
            yield Problem(where, f"{what}: expected one of {', '.join(OBJECT_KINDS)}.", kind=None)
            return
        children = CHILDREN.get(kind, {})
        nested = {key: value[key] for key in children if key in value}
        if nested:
            value = {k: v for k, v in value.items() if k not in nested}
        yield Record(kind, value, where, thread_hint=thread_hint, run_hint=run_hint)
        own_id = value.get("id") if isinstance(value.get("id"), str) else ""
        for key, items in nested.items():
            if isinstance(items, dict) and items.get("object") == "list":
                items = items.get("data")
            if not isinstance(items, list):
                yield Problem(f"{where} {key}", f"must be an array of {key}, found {type(items).__name__}.",
                              kind=children[key])
                continue
            hints = {"thread_hint": own_id if kind == "thread" else thread_hint,
                     "run_hint": own_id if kind == "run" else run_hint}
            for i, item in enumerate(items):
                yield from self._expand(item, f"{where} {key}[{i}]", children[key], **hints)

    def _sections(self, document: dict[str, Any], where: str) -> Iterator[Record | Problem | Header]:
        prefix = "" if where == "document" else f"{where} "
        for key, kind in SECTIONS.items():
            if key in document:
                items = document[key]
                if isinstance(items, dict) and items.get("object") == "list":
                    items = items.get("data")
                if not isinstance(items, list):
                    yield Problem(f"{prefix}{key}", f"must be an array, found {type(items).__name__}.", kind=kind)
                    continue
                for i, item in enumerate(items):
                    yield from self._expand(item, f"{prefix}{key}[{i}]", kind)

    # --- one JSON document, incrementally -------------------------------------------------------------
    def _document(self, stream: IO[bytes]) -> Iterator[Record | Problem | Header]:
        walker = _DocumentWalker(self)
        try:
            for prefix, event, value in ijson.parse(stream, use_float=True):
                yield from walker.event(prefix, event, value)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            yield Problem(walker.position(), f"the gzip stream ends early or is corrupt ({exc}); the archive is "
                          "truncated and nothing after this point could be read.", kind=walker.open_kind(),
                          fatal=True)
            return
        except ijson.common.IncompleteJSONError as exc:
            message = str(exc)
            if "incomplete" in message.lower() or "premature" in message.lower():
                text = "the file ends in the middle of the JSON document: the archive is truncated"
            else:
                text = f"the JSON is malformed here ({_short(message)})"
            yield Problem(walker.position(), f"{text}; nothing after this point could be read.",
                          kind=walker.open_kind(), fatal=True)
            return
        except (ijson.common.JSONError, UnicodeDecodeError, ValueError) as exc:
            yield Problem(walker.position(), f"the JSON is malformed here ({_short(str(exc))}); nothing after this "
                          "point could be read.", kind=walker.open_kind(), fatal=True)
            return
        if not walker.saw_anything:
            yield Problem("document", "the archive is valid JSON but holds no known sections (assistants, threads, "
                          "messages, runs, vector_stores, files) and no API objects.", fatal=True)


class _Capture:
    __slots__ = ("builder", "children", "counters", "depth", "kind", "prefix", "skip", "where")

    def __init__(self, prefix: str, kind: str | None, where: str) -> None:
        self.prefix = prefix
        self.kind = kind
        self.where = where
        self.builder = ijson.ObjectBuilder()
        self.depth = 0
        self.skip: str | None = None
        self.counters: dict[str, int] = {}
        self.children = CHILDREN.get(kind or "", {})

    @property
    def own_id(self) -> str:
        value = self.builder.value if hasattr(self.builder, "value") else None
        found = value.get("id") if isinstance(value, dict) else None
        return found if isinstance(found, str) else ""


class _DocumentWalker:
    """Turns ijson events into records: objects at section items become records; arrays of children inside a
    thread (messages, runs) or run (steps) are cut out and emitted item by item."""

    def __init__(self, reader: ArchiveReader) -> None:
        self.reader = reader
        self.stack: list[_Capture] = []
        self.counters: dict[str, int] = {}
        self.saw_anything = False
        self.top_kind: str = ""  # "map" | "array"
        self.header: dict[str, Any] = {}

    def position(self) -> str:
        return self.stack[-1].where if self.stack else "document"

    def open_kind(self) -> str | None:
        return self.stack[0].kind if self.stack else None

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

    def event(self, prefix: str, event: str, value: Any) -> Iterator[Record | Problem | Header]:
        if not self.top_kind and event in ("start_map", "start_array"):
            self.top_kind = "map" if event == "start_map" else "array"
        if event == "start_map":
            capture, kind, label = self._capture_kind(prefix)
            if capture:
                self._push(prefix, kind, label)
                return
        top = self.stack[-1] if self.stack else None
        if top is None:
            yield from self._outside(prefix, event, value)
            return
        if prefix == top.prefix and event == "map_key" and top.depth == 1:
            top.skip = value if value in top.children else None
            if top.skip:
                return
        elif top.skip and (prefix == f"{top.prefix}.{top.skip}" or prefix.startswith(f"{top.prefix}.{top.skip}.")):
            return  # the cut-out child array's own wrapper events (list page keys, brackets)
        top.builder.event(event, value)
        if event in ("start_map", "start_array"):
            top.depth += 1
        elif event in ("end_map", "end_array"):
            top.depth -= 1
            if top.depth == 0:
                self.stack.pop()
                yield from self._emit(top)

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


def _first_significant_byte(stream: IO[bytes]) -> bytes | None:
    while True:
        chunk = stream.read(4096)
        if not chunk:
            return None
        stripped = chunk.lstrip(b" \t\r\n\xef\xbb\xbf")
        if stripped:
            return stripped[:1]


def _guess_kind(raw: bytes) -> str | None:
    found = _OBJECT_RE.search(raw)
    return OBJECT_KINDS.get(found.group(1).decode()) if found else None


def _infer_kind(value: dict[str, Any]) -> str | None:
    """Objects without ``object``: tell them by shape (rebuilt dumps often drop it)."""
    if "step_details" in value:
        return "step"
    if "role" in value and "content" in value:
        return "message"
    if "thread_id" in value and "assistant_id" in value and "status" in value:
        return "run"
    if "model" in value and ({"instructions", "tools", "name"} & value.keys()) and "thread_id" not in value:
        return "assistant"
    return None


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
