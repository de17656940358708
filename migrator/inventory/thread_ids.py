"""The user's thread list: the Assistants API cannot list threads, so their ids come from the team.

Accepted (see docs/export-format.md, "Thread lists"):

- CSV (or tab-separated) with an optional header. Columns: ``thread_id`` (required), ``flow``, ``end_user_id``,
  ``tags`` (separated by ``;`` or ``|``) and ``assistant_id``. Without a header the columns are taken in
  that order, so a plain file with one thread id per line works. Lines starting with ``#`` are comments.
- JSON: a list of ids, a list of objects with those keys, ``{"thread_ids": [...]}`` / ``{"threads": [...]}``,
  or a list page of thread objects (``{"object": "list", "data": [...]}``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from migrator.core import safeinput
from migrator.inventory.archive.validate import Rejected, clean_thread_info

COLUMNS = ("thread_id", "flow", "end_user_id", "tags", "assistant_id")
ALIASES = {"id": "thread_id", "thread": "thread_id", "end_user": "end_user_id", "user_id": "end_user_id",
           "user": "end_user_id", "flow_slug": "flow", "tag": "tags", "assistant": "assistant_id"}
MAX_THREADS = 200_000


@dataclass(frozen=True)
class ThreadRef:
    thread_id: str
    flow: str = ""
    end_user_id: str = ""
    tags: tuple[str, ...] = ()
    assistant_id: str = ""
    line: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"thread_id": self.thread_id, "flow": self.flow, "end_user_id": self.end_user_id,
                "tags": list(self.tags), "assistant_id": self.assistant_id}

    @classmethod
    def from_dict(cls, data: dict[str, Any], line: int = 0) -> ThreadRef:
        return cls(thread_id=data["thread_id"], flow=data.get("flow", ""), end_user_id=data.get("end_user_id", ""),
                   tags=tuple(data.get("tags") or ()), assistant_id=data.get("assistant_id", ""), line=line)


@dataclass
class ThreadList:
    refs: list[ThreadRef] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _decode(data: str | bytes) -> str:
    if isinstance(data, bytes):
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValueError(f"the thread list is not UTF-8 text (byte {exc.start})") from None
    return data.lstrip("\ufeff")


def parse_thread_list(data: str | bytes) -> ThreadList:
    """Parse a CSV or JSON thread list. Never raises for bad content: problems come back in ``errors``,
    each naming the line (CSV) or item (JSON) and the field."""
    result = ThreadList()
    try:
        text = _decode(data)
    except ValueError as exc:
        result.errors.append(str(exc))
        return result
    stripped = text.lstrip()
    if not stripped:
        result.errors.append("the thread list is empty.")
        return result
    if stripped[0] in "[{":
        _parse_json(stripped, result)
    else:
        _parse_csv(text, result)
    if not result.refs and not result.errors:
        result.errors.append("the thread list names no threads.")
    return result


def _add(result: ThreadList, entry: dict[str, Any], where: str, line: int, seen: dict[str, str]) -> None:
    if len(result.refs) >= MAX_THREADS:
        if len(result.errors) == 0 or not result.errors[-1].startswith("more than"):
            result.errors.append(f"more than {MAX_THREADS:,} threads: split the list into several imports.")
        return
    try:
        cleaned = clean_thread_info(entry)
    except Rejected as exc:
        result.errors.append(f"{where}: {exc.field}: {exc.reason}")
        return
    thread_id = cleaned["thread_legacy_id"]
    if thread_id in seen:
        result.errors.append(f"{where}: thread {thread_id} is listed twice (first at {seen[thread_id]}).")
        return
    seen[thread_id] = where
    result.refs.append(ThreadRef(thread_id=thread_id, flow=cleaned["flow_slug"], end_user_id=cleaned["end_user_id"],
                                 tags=tuple(cleaned["tags"]), assistant_id=cleaned["assistant_legacy_id"], line=line))


def _parse_json(text: str, result: ThreadList) -> None:
    try:
        value = safeinput.loads(text)
    except ValueError as exc:
        result.errors.append(f"the thread list is not valid JSON ({safeinput.describe(exc)}).")
        return
    if isinstance(value, dict):
        for key in ("thread_ids", "threads", "data"):
            if isinstance(value.get(key), list):
                value = value[key]
                break
        else:
            result.errors.append("a JSON thread list is an array, or an object with a 'thread_ids', 'threads' or "
                                 "'data' array.")
            return
    if not isinstance(value, list):
        result.errors.append("a JSON thread list must be an array of thread ids or objects.")
        return
    seen: dict[str, str] = {}
    for i, item in enumerate(value):
        where = f"item {i}"
        if isinstance(item, str):
            _add(result, {"thread_id": item}, where, i + 1, seen)
        elif isinstance(item, dict):
            entry = {ALIASES.get(k, k): val for k, val in item.items()}
            if item.get("object") == "thread":  # a thread object from a list page: only its id matters
                entry = {"thread_id": item.get("id")}
            unknown = sorted(k for k in entry if k not in COLUMNS)
            if unknown:
                result.errors.append(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(COLUMNS)}).")
                continue
            _add(result, entry, where, i + 1, seen)
        else:
            result.errors.append(f"{where}: expected a thread id or an object, got {type(item).__name__}.")


def _parse_csv(text: str, result: ThreadList) -> None:
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()
             and not line.lstrip().startswith("#")]
    if not lines:
        result.errors.append("the thread list names no threads.")
        return
    sample = "\n".join(line for _, line in lines[:20])
    delimiter = "\t" if "\t" in sample and "," not in sample else ","
    rows = csv.reader(io.StringIO("\n".join(line for _, line in lines)), delimiter=delimiter)
    header: list[str] | None = None
    seen: dict[str, str] = {}
    for (number, _), row in zip(lines, rows, strict=False):
        cells = [c.strip() for c in row]
        if header is None and number == lines[0][0]:
            names = [ALIASES.get(c.lower(), c.lower()) for c in cells]
            if "thread_id" in names:
                unknown = [c for c in names if c and c not in COLUMNS]
                if unknown:
                    result.errors.append(f"line {number}: unknown column {unknown[0]!r} "
                                         f"(known: {', '.join(COLUMNS)}).")
                    return
                header = names
                continue
            header = list(COLUMNS)
        if len(cells) > len(header):
            extra = [c for c in cells[len(header):] if c]
            if extra:
                result.errors.append(f"line {number}: {len(cells)} columns, but the list has {len(header)} "
                                     f"({', '.join(header)}).")
                continue
        entry = {name: value for name, value in zip(header, cells, strict=False) if name and value != ""}
        _add(result, entry, f"line {number}", number, seen)
