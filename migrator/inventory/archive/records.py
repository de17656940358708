"""What an export archive holds, as the reader gives it: the format's name and version, the kinds of object and the
sections and child arrays they are found in, and the :class:`Record`, :class:`Problem` and :class:`Header` the
reader yields (docs/export-format.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
# Wrapper levels an archive may add around objects (a section, a list page, its data array, ...).
WRAPPER_DEPTH = 8


@dataclass
class Record:
    kind: str
    obj: dict[str, Any]
    where: str
    thread_hint: str = ""
    run_hint: str = ""
    within_limits: bool = False  # the archive reader checked depth, strings and numbers already


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


def short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
