"""The import report: what was created, updated, unchanged and rejected, and why things were rejected.

Its JSON (``to_dict``) is exactly the shape the issue fixes and ``Job.result`` stores:
``{"assistants": {...}, "threads": {...}, "messages": {...}, "errors": [{"where": ..., "message": ...}]}``.
Runs, vector stores and files are counted too (``other``) for the job log, but stay out of that JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OUTCOMES = ("created", "updated", "unchanged", "rejected")
REPORTED = ("assistants", "threads", "messages")
OTHER = ("runs", "vector_stores", "files")
MAX_ERRORS = 1000  # keep Job.result bounded; the count of what was left out is the last entry

KIND_BUCKET = {
    "assistant": "assistants",
    "thread": "threads",
    "thread_info": "threads",
    "message": "messages",
    "run": "runs",
    "step": "runs",
    "vector_store": "vector_stores",
    "file": "files",
}


def _zero() -> dict[str, int]:
    return dict.fromkeys(OUTCOMES, 0)


@dataclass
class ImportReport:
    counts: dict[str, dict[str, int]] = field(default_factory=lambda: {k: _zero() for k in (*REPORTED, *OTHER)})
    errors: list[dict[str, str]] = field(default_factory=list)
    errors_dropped: int = 0
    unreadable: int = 0  # parts of a file that could not be read at all (kind unknown)
    drifted: list[str] = field(default_factory=list)

    def add(self, bucket: str, outcome: str, n: int = 1) -> None:
        if n:
            self.counts[bucket][outcome] += n

    def error(self, where: str, message: str, *, kind: str | None = None, rejected: bool = True) -> None:
        """Record a problem. With ``kind`` it counts as a rejection of that kind of object; without, as an
        unreadable part of the input. ``rejected=False`` is a finding that lost nothing of the input (a vector
        store an assistant names but the API no longer has)."""
        if rejected and kind:
            self.add(KIND_BUCKET.get(kind, kind), "rejected")
        elif rejected:
            self.unreadable += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"where": where, "message": message})
        else:
            self.errors_dropped += 1

    @property
    def rejected(self) -> int:
        return sum(c["rejected"] for c in self.counts.values())

    @property
    def ok(self) -> bool:
        """Nothing was rejected and nothing was unreadable (the commands exit non-zero otherwise)."""
        return not self.rejected and not self.unreadable

    def to_dict(self) -> dict[str, Any]:
        errors = list(self.errors)
        if self.errors_dropped:
            errors.append({"where": "report", "message": f"{self.errors_dropped} more problems were not listed."})
        data: dict[str, Any] = {k: dict(self.counts[k]) for k in REPORTED}
        data["errors"] = errors
        return data

    def summary(self) -> str:
        """In words, leaving out what did not happen: "assistants: 3 new, 2 updated, 5 unchanged; threads: 10 new"."""
        parts = []
        for bucket in (*REPORTED, *OTHER):
            c = self.counts[bucket]
            said = [f"{c[outcome]} {word}" for outcome, word in _WORDS if c[outcome]]
            if said:
                parts.append(f"{bucket.replace('_', ' ')}: {', '.join(said)}")
        return "; ".join(parts) or "nothing to import"

    def problems(self) -> str:
        """Why an import did not fully succeed, in words ("" when it did)."""
        said = []
        if self.rejected:
            said.append(f"{_count(self.rejected, 'object')} {'was' if self.rejected == 1 else 'were'} rejected")
        if self.unreadable:
            said.append(f"{_count(self.unreadable, 'part')} of the input could not be read")
        if not said:
            return ""
        return f"{' and '.join(said).capitalize()}; each problem is listed above with where it is."


_WORDS = (("created", "new"), ("updated", "updated"), ("unchanged", "unchanged"), ("rejected", "rejected"))


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
