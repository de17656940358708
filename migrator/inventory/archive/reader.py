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

import dataclasses
import gzip
import json
import re
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson

from migrator.core import safeinput
from migrator.inventory.archive.numberguard import NumberGuard
from migrator.inventory.archive.records import (
    CHILDREN,
    FORMAT_NAME,
    FORMAT_VERSION,
    HEADER_OBJECTS,
    MAX_LINE_BYTES,
    OBJECT_KINDS,
    SECTIONS,
    WRAPPER_DEPTH,
    ArchiveError,
    Header,
    Problem,
    Record,
    short,
)
from migrator.inventory.archive.walker import DocumentWalker

# The archive's vocabulary lives in ``records`` and the JSON-document walker in ``walker``; what callers import
# from here stays importable from here.
__all__ = [
    "DEFAULT_LIMITS", "FORMAT_NAME", "FORMAT_VERSION", "ArchiveError", "ArchiveLimits", "ArchiveReader", "Header",
    "Problem", "Record", "current_limits",
]

_OBJECT_RE = re.compile(rb'"object"\s*:\s*"([a-z_.]+)"')


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


@dataclass(frozen=True)
class ArchiveLimits:
    """What one archive may hold; anything beyond is refused where it is found (docs/export-format.md#limits).

    Per object (only that object is rejected): nesting depth, string length, number size. Per archive (the
    import stops there, keeping everything read before): file size, uncompressed size, lines, objects."""

    max_file_bytes: int = 4 * 1024**3  # on disk (compressed, for gzip)
    max_uncompressed_bytes: int = 16 * 1024**3  # after gunzip: a 1 GiB gzip bomb of zeros stops here
    max_line_bytes: int = MAX_LINE_BYTES
    max_lines: int = 50_000_000
    max_objects: int = 50_000_000
    max_depth: int = safeinput.MAX_DEPTH  # of one object, counted from the object itself
    max_string_chars: int = safeinput.MAX_STRING_CHARS
    max_number_digits: int = safeinput.MAX_NUMBER_DIGITS

    @property
    def json(self) -> safeinput.JSONLimits:
        return safeinput.JSONLimits(max_depth=self.max_depth, max_string_chars=self.max_string_chars,
                                    max_number_digits=self.max_number_digits)


DEFAULT_LIMITS = ArchiveLimits()


def current_limits() -> ArchiveLimits:
    """The defaults, with any overrides from the ``ARCHIVE_LIMITS`` setting (a dict of field → value)."""
    from django.conf import settings

    overrides = getattr(settings, "ARCHIVE_LIMITS", None) or {}
    return dataclasses.replace(DEFAULT_LIMITS, **overrides) if overrides else DEFAULT_LIMITS
# Numbers longer than this cannot even be tokenized in a JSON document (Python refuses to convert them); in
# JSON Lines they only cost their line. Converting 100,000 digits takes about a millisecond.
PARSE_DIGITS = 100_000


class _TooLarge(Exception):
    pass


class _Bounded:
    """A read-only stream that stops after ``limit`` bytes (the uncompressed size limit)."""

    def __init__(self, inner: IO[bytes], limit: int) -> None:
        self.inner = inner
        self.limit = limit
        self.count = 0

    def _account(self, data: bytes) -> bytes:
        self.count += len(data)
        if self.count > self.limit:
            raise _TooLarge
        return data

    def read(self, size: int = -1) -> bytes:
        return self._account(self.inner.read(size))

    def readline(self, size: int = -1) -> bytes:
        return self._account(self.inner.readline(size))


class ArchiveReader:
    """``for item in ArchiveReader(path): ...``; ``progress.done``/``progress.total`` track bytes."""

    def __init__(self, path: str | Path, *, limits: ArchiveLimits | None = None) -> None:
        self.path = Path(path)
        self.limits = limits = limits or current_limits()
        if not self.path.is_file():
            raise ArchiveError(f"{self.path.name}: no such file.")
        self.size = self.path.stat().st_size
        if self.size == 0:
            raise ArchiveError(f"{self.path.name} is empty.")
        if self.size > limits.max_file_bytes:
            raise ArchiveError(f"{self.path.name} is {self.size:,} bytes; archives of at most "
                               f"{limits.max_file_bytes:,} bytes are accepted: split it.")
        with self.path.open("rb") as fh:
            self.gzipped = fh.read(2) == b"\x1f\x8b"
        self._raw: IO[bytes] | None = None
        self.progress: _Progress | None = None
        self.header: dict[str, Any] = {}
        self.objects = 0

    def _open(self) -> _Bounded:
        if self._raw is not None:
            self._raw.close()
        self._raw = self.path.open("rb")
        self.progress = _Progress(self._raw, self.size)
        inner = gzip.GzipFile(fileobj=self._raw, mode="rb") if self.gzipped else self._raw
        return _Bounded(inner, self.limits.max_uncompressed_bytes)

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    def __iter__(self) -> Iterator[Record | Problem | Header]:
        for item in self._items():
            if isinstance(item, Record):
                item.within_limits = True
                self.objects += 1
                if self.objects > self.limits.max_objects:
                    yield Problem(item.where, f"the archive holds more than {self.limits.max_objects:,} objects, "
                                  "the most one import reads; nothing from here on was read: split the archive.",
                                  kind=item.kind, fatal=True)
                    return
            yield item

    def _items(self) -> Iterator[Record | Problem | Header]:
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
            if self._looks_like_jsonl(self._open(), first):
                yield from self._jsonl(self._open())
            else:
                yield from self._document(self._open())
        except _TooLarge:
            yield Problem("end of what was read", f"the archive uncompresses to more than "
                          f"{self.limits.max_uncompressed_bytes:,} bytes, the most one import reads; nothing after "
                          "this point was read: split the archive.", fatal=True)
        finally:
            self.close()

    # --- JSON Lines ---------------------------------------------------------------------------------
    SNIFF_LINES = 64

    def _looks_like_jsonl(self, stream: IO[bytes], first: bytes) -> bool:
        """JSON Lines when the first line is a complete JSON object on its own, or (a first line of garbage,
        a .jsonl name) when at least half of the first non-blank lines are. A pretty-printed document has at
        most the odd single-line item that parses alone, so it stays a document."""
        named = self.path.name.lower().removesuffix(".gz").endswith((".jsonl", ".ndjson"))
        tried = objects = 0
        try:
            while tried < self.SNIFF_LINES:
                line = stream.readline(self.limits.max_line_bytes + 1)
                if not line:
                    break
                if len(line) > self.limits.max_line_bytes:
                    if tried == 0 and first in (b"{", b"["):
                        return False  # a huge one-line document: parse it incrementally rather than as one line
                    tried += 1
                    continue
                text = line.lstrip(b"\xef\xbb\xbf").strip()
                if not text:
                    continue
                tried += 1
                try:  # only the shape matters here; _jsonl applies the limits line by line
                    value = json.loads(text)
                except (ValueError, RecursionError):
                    # "{" or "[" alone (a pretty-printed document) or a document cut mid-line
                    if (tried == 1 and not named and first in (b"{", b"[")
                            and (text in (b"{", b"[") or text.endswith((b"{", b"[", b",")))):
                        return False
                    continue
                if isinstance(value, dict):
                    if tried == 1:
                        return True
                    objects += 1
        except (EOFError, OSError, zlib.error):
            pass
        return objects > 0 and (named or objects * 2 >= tried)

    def _jsonl(self, stream: IO[bytes]) -> Iterator[Record | Problem | Header]:
        number = 0
        limit = self.limits.max_line_bytes
        while True:
            number += 1
            where = f"line {number}"
            try:
                line = stream.readline(limit + 1)
            except (EOFError, OSError, zlib.error) as exc:
                yield Problem(where, f"the gzip stream ends early or is corrupt ({exc}); the archive is truncated "
                              f"and nothing from this line on could be read.", fatal=True)
                return
            if not line:
                return
            if number > self.limits.max_lines:
                yield Problem(where, f"the archive has more than {self.limits.max_lines:,} lines, the most one "
                              "import reads; nothing from here on was read: split the archive.", fatal=True)
                return
            if len(line) > limit and not line.endswith(b"\n"):
                kind = _guess_kind(line[:65536])
                line = b""  # free it before reading on
                try:
                    while True:  # skip the rest of the oversized line without keeping it
                        rest = stream.readline(1024 * 1024)
                        if not rest or rest.endswith(b"\n"):
                            break
                except (EOFError, OSError, zlib.error):
                    pass
                yield Problem(where, f"the line is larger than {limit // (1024 * 1024)} MB; no single API "
                              "object is that large, so it was skipped.", kind=kind)
                continue
            if number == 1:
                line = line.lstrip(b"\xef\xbb\xbf")
            if not line.strip():
                continue
            try:
                value = safeinput.loads(line, self.limits.json)
            except UnicodeDecodeError:
                yield Problem(where, "the line is not valid UTF-8 text.", kind=_guess_kind(line))
                continue
            except safeinput.JSONRefused as exc:
                field = f", field {exc.path}" if exc.path else ""
                yield Problem(f"{where}{field}", f"{exc.reason}; the line was skipped.", kind=_guess_kind(line))
                continue
            except ValueError as exc:
                truncated = not line.endswith(b"\n")
                hint = " The file ends in the middle of this line: it looks truncated." if truncated else ""
                yield Problem(where, f"the line is not valid JSON ({short(str(exc))}).{hint}",
                              kind=_guess_kind(line))
                continue
            yield from self._expand(value, where)

    def _expand(self, value: Any, where: str, section_kind: str | None = None,
                thread_hint: str = "", run_hint: str = "", level: int = 0) -> Iterator[Record | Problem | Header]:
        """One parsed value (a JSONL line, or an item) → records, expanding list pages and nested children.

        Values reaching here passed the depth limit, so recursing over them is bounded; ``level`` only keeps
        wrappers (arrays of arrays of list pages...) from being unwrapped without end."""
        if level > WRAPPER_DEPTH:
            yield Problem(where, f"arrays and list pages nested more than {WRAPPER_DEPTH} deep around the "
                          "objects; an archive wraps objects in at most a section and a list page.",
                          kind=section_kind)
            return
        deeper = level + 1
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from self._expand(item, f"{where}[{i}]", section_kind, thread_hint, run_hint, deeper)
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
                yield from self._expand(item, f"{where} data[{i}]", section_kind, thread_hint, run_hint, deeper)
            return
        if obj in HEADER_OBJECTS:
            header = {k: v for k, v in value.items() if k not in SECTIONS}
            self.header.update(header)
            yield Header(header)
            yield from self._sections(value, where, deeper)
            return
        if obj is None and section_kind is None and any(isinstance(value.get(k), list | dict) for k in SECTIONS
                                                         if k in value):
            header = {k: v for k, v in value.items() if k not in SECTIONS}
            if header:
                self.header.update(header)
                yield Header(header)
            yield from self._sections(value, where, deeper)
            return
        kind = OBJECT_KINDS.get(obj) if isinstance(obj, str) else None
        if kind is None:
            kind = section_kind if obj is None else None
        if kind is None and obj is None:
            kind = _infer_kind(value)
        if kind is None:
            what = f"unknown object type {short(repr(obj), 60)}" if obj is not None else \
                "an object without an 'object' field"
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
                yield from self._expand(item, f"{where} {key}[{i}]", children[key], **hints, level=deeper)

    def _sections(self, document: dict[str, Any], where: str, level: int) -> Iterator[Record | Problem | Header]:
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
                    yield from self._expand(item, f"{prefix}{key}[{i}]", kind, level=level + 1)

    # --- one JSON document, incrementally -------------------------------------------------------------
    def _document(self, stream: IO[bytes]) -> Iterator[Record | Problem | Header]:
        walker = DocumentWalker(self)
        saved_digits = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(PARSE_DIGITS)  # so a long number costs its object, not the whole document
        try:
            # basic_parse, not parse: ijson's prefixes are O(depth) strings kept per level, O(depth²) memory
            # for a deeply nested document; the walker keeps its own prefix only down to the depth limit.
            basic = walker.basic
            # NumberGuard: numbers that would crash ijson's C backend never reach it (issue 21).
            for event, value in ijson.basic_parse(NumberGuard(stream)):
                out = basic(event, value)  # None for almost every event: no generator per event
                if out is not None:
                    yield from out
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
                text = f"the JSON is malformed here ({short(message)})"
            yield Problem(walker.position(), f"{text}; nothing after this point could be read.",
                          kind=walker.open_kind(), fatal=True)
            return
        except (ijson.common.JSONError, UnicodeDecodeError, ValueError, ArithmeticError, SystemError) as exc:
            message = str(exc)
            if "digits" in message and "int" in message:
                message = f"a number longer than {PARSE_DIGITS:,} digits"
            yield Problem(walker.position(), f"the JSON is malformed here ({short(message)}); nothing after this "
                          "point could be read.", kind=walker.open_kind(), fatal=True)
            return
        finally:
            sys.set_int_max_str_digits(saved_digits)
        if not walker.saw_anything:
            yield Problem("document", "the archive is valid JSON but holds no known sections (assistants, threads, "
                          "messages, runs, vector_stores, files) and no API objects.", fatal=True)




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
