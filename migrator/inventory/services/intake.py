"""The importer's intake: each record is checked on its own, duplicates are caught, and valid objects are
buffered until their batch is written (see :mod:`migrator.inventory.services.writer`)."""

from __future__ import annotations

import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable
from typing import Any

from migrator.core import safeinput
from migrator.inventory.archive import validate as v
from migrator.inventory.archive.reader import FORMAT_VERSION, Header, Problem, Record

LABELS = {"assistant": "assistant", "thread": "thread", "message": "message", "run": "run", "step": "run step",
          "vector_store": "vector store", "file": "file", "thread_info": "thread list entry"}

Item = tuple[Record, dict[str, Any]]


class SeenIds:
    """The ids of one kind seen so far in an import, at about 8 bytes each: a 64-bit hash of each id, kept in
    sorted ``array('q')`` buckets chosen by the hash's low bits.

    A Python set of the hashes cost about 90 bytes an id (the int object, the set slot and its slack), 200 MB
    for the 2.2 million messages, runs and steps of a 50,000-assistant archive. Here a lookup is a C bisection of
    a bucket of a few hundred entries and an insert a C memmove in it. Two different ids with the same 64-bit
    hash would make the second a false duplicate: about one chance in 10^7 at 2 million ids."""

    BITS = 14

    def __init__(self) -> None:
        self._buckets: list[array | None] = [None] * (1 << self.BITS)
        self._mask = (1 << self.BITS) - 1
        self.count = 0

    def add(self, key: str) -> bool:
        """Remember ``key``; False when it was already there."""
        digest = hash(key)
        index = digest & self._mask
        bucket = self._buckets[index]
        if bucket is None:
            self._buckets[index] = array("q", (digest,))
        else:
            at = bisect_left(bucket, digest)
            if at < len(bucket) and bucket[at] == digest:
                return False
            bucket.insert(at, digest)
        self.count += 1
        return True

    def __contains__(self, key: str) -> bool:
        digest = hash(key)
        bucket = self._buckets[digest & self._mask]
        if bucket is None:
            return False
        at = bisect_left(bucket, digest)
        return at < len(bucket) and bucket[at] == digest

    def __len__(self) -> int:
        return self.count

# How each kind is validated: the clean function and the record's hints it takes.
CLEANERS: dict[str, tuple[Callable[..., dict[str, Any]], tuple[str, ...]]] = {
    "assistant": (v.clean_assistant, ()),
    "thread": (v.clean_thread, ()),
    "thread_info": (v.clean_thread_info, ()),
    "message": (v.clean_message, ("thread_hint",)),
    "run": (v.clean_run, ("thread_hint",)),
    "step": (v.clean_step, ("run_hint", "thread_hint")),
    "vector_store": (v.clean_vector_store, ()),
    "file": (v.clean_file, ()),
}


def check(record: Record) -> dict[str, Any] | v.Rejected:
    """Validate one record on its own: the cleaned values, or the rejection (no database, no importer state)."""
    func, hints = CLEANERS[record.kind]
    try:
        if not record.within_limits:
            # Objects from a live endpoint did not pass the archive reader's limits: check them here, so a
            # hostile server cannot feed the validators or the database a 10,000-deep value.
            try:
                safeinput.check_value(record.obj)
            except safeinput.JSONRefused as exc:
                raise v.Rejected(exc.path, exc.reason) from None
        return func(record.obj, **{hint: getattr(record, hint) for hint in hints})
    except v.Rejected as exc:
        return exc


def where_of(record: Record, cleaned_or_obj: dict[str, Any] | None = None, field: str = "") -> str:
    """"line 12: message msg_abc, field content[0].text.value": position, object and field."""
    obj_id = ""
    if cleaned_or_obj:
        found = cleaned_or_obj.get("legacy_id", cleaned_or_obj.get("id", cleaned_or_obj.get("thread_id")))
        obj_id = found if isinstance(found, str) else ""
    label = LABELS.get(record.kind, record.kind)
    text = f"{record.where}: {label}" + (f" {obj_id}" if obj_id else "")
    return text + (f", field {field}" if field else "")


class Intake:
    """Mixed into :class:`~migrator.inventory.services.writer.Importer`, which owns the buffers and flushes."""

    # --- intake ---------------------------------------------------------------------------------------
    def feed(self, items: Iterable[Record | Problem | Header]) -> None:
        for item in items:
            if self.stopped:
                break
            self.add(item)

    def add(self, item: Record | Problem | Header) -> None:
        if isinstance(item, Header):
            self._header(item.values)
            return
        if isinstance(item, Problem):
            self.report.error(item.where, item.message, kind=item.kind)
            return
        self._records += 1
        handler = getattr(self, f"_add_{item.kind}")
        handler(item)
        if self._records % 2000 == 0:
            self._tick()

    def _tick(self) -> None:
        if self.on_progress and time.monotonic() - self._last_tick > 1.0:
            self._last_tick = time.monotonic()
            self.on_progress(f"{self._records:,} objects read; {self.report.summary()}")

    def _header(self, values: dict[str, Any]) -> None:
        self.header.update(values)
        version = values.get("format_version")
        if version is None:
            return
        if isinstance(version, bool) or not isinstance(version, int | float) or int(version) != version:
            self.report.error("header", f"format_version must be an integer, got {version!r}.")
            self.stopped = True
        elif version > FORMAT_VERSION:
            self.report.error("header", f"format_version {int(version)} is newer than this migrator reads "
                              f"(up to {FORMAT_VERSION}); upgrade migrator to import this archive.")
            self.stopped = True

    def _clean(self, record: Record) -> dict[str, Any] | None:
        checked = check(record)
        if isinstance(checked, v.Rejected):
            self.report.error(where_of(record, record.obj, checked.field), checked.reason, kind=record.kind)
            return None
        return checked

    def _duplicate(self, record: Record, cleaned: dict[str, Any], key: str) -> bool:
        """Reject the second occurrence of an id in this import (the first one is kept)."""
        if record.kind in self._seen:
            seen = self._seen[record.kind]
            first = seen.get(key)
            if first is not None:
                self.report.error(where_of(record, cleaned, "id"), f"duplicate id; the same {LABELS[record.kind]} "
                                  f"appeared earlier ({first}), which was kept.", kind=record.kind)
                return True
            seen[key] = record.where
            return False
        # Messages, runs and steps are too many to remember with positions: 8 bytes of hash each (SeenIds).
        if not self._seen_hashes[record.kind].add(key):
            self.report.error(where_of(record, cleaned, "id"), f"duplicate id; the same {LABELS[record.kind]} "
                              "appeared earlier in this import, which was kept.", kind=record.kind)
            return True
        return False

    def _add_assistant(self, record: Record) -> None:
        cleaned = self._clean(record)
        if cleaned and not self._duplicate(record, cleaned, cleaned["legacy_id"]):
            self._assistants.append((record, cleaned))
            if len(self._assistants) >= self.ASSISTANT_BATCH:
                self._flush_assistants()

    def _add_thread(self, record: Record) -> None:
        cleaned = self._clean(record)
        if cleaned and not self._duplicate(record, cleaned, cleaned["legacy_id"]):
            self._threads.append((record, cleaned))
            if len(self._threads) >= self.THREAD_BATCH:
                self._flush_threads()

    def _add_thread_info(self, record: Record) -> None:
        cleaned = self._clean(record)
        if cleaned:
            # A later entry for the same thread wins (lists get appended to); it is not an error.
            self._infos[cleaned["thread_legacy_id"]] = (record, cleaned)

    def _add_message(self, record: Record) -> None:
        cleaned = self._clean(record)
        if not cleaned or self._duplicate(record, cleaned, f"{cleaned['thread_legacy_id']}/{cleaned['legacy_id']}"):
            return
        for note in cleaned.get("replaced") or ():
            # Kept, not rejected: the report says what was changed (the database stores no NUL).
            self.report.error(where_of(record, cleaned), f"{note}; the message was kept.", rejected=False)
        pending = self._messages
        # Flush at thread boundaries so a thread's messages land together and get positions in one go.
        if pending and (
            (len(pending) >= self.MESSAGE_BATCH and pending[-1][1]["thread_legacy_id"] != cleaned["thread_legacy_id"])
            or len(pending) >= 4 * self.MESSAGE_BATCH
        ):
            self._flush_messages()
        self._messages.append((record, cleaned))

    def _add_run(self, record: Record) -> None:
        cleaned = self._clean(record)
        if cleaned and not self._duplicate(record, cleaned, f"{cleaned['thread_legacy_id']}/{cleaned['legacy_id']}"):
            if len(self._runs) >= self.RUN_BATCH:
                self._flush_runs()
            self._runs.append((record, cleaned))
            self._pending_runs[cleaned["legacy_id"]] = cleaned

    def _add_step(self, record: Record) -> None:
        cleaned = self._clean(record)
        if not cleaned or self._duplicate(record, cleaned, f"{cleaned['run_legacy_id']}/{cleaned['legacy_id']}"):
            return
        pending = self._pending_runs.get(cleaned["run_legacy_id"])
        if pending is not None and cleaned["thread_legacy_id"] in ("", pending["thread_legacy_id"]):
            # Its run is not written yet (the usual order: a run, then its steps): fold it in, no UPDATE later.
            steps = {s.get("id"): s for s in pending["steps"]}
            steps[cleaned["legacy_id"]] = cleaned["raw"]
            pending["steps"] = sorted(steps.values(), key=lambda s: (s.get("created_at") or 0, str(s.get("id"))))
            pending["tool_calls"] = v.count_tool_calls(pending["steps"], pending["raw"])
            return
        self._steps.append((record, cleaned))
        if len(self._steps) >= self.STEP_BATCH:
            self._flush_steps()

    def _add_vector_store(self, record: Record) -> None:
        cleaned = self._clean(record)
        if cleaned and not self._duplicate(record, cleaned, cleaned["legacy_id"]):
            self._stores.append((record, cleaned))
            if len(self._stores) >= self.META_BATCH:
                self._flush_stores()

    def _add_file(self, record: Record) -> None:
        cleaned = self._clean(record)
        if cleaned and not self._duplicate(record, cleaned, cleaned["legacy_id"]):
            self._files.append((record, cleaned))
            if len(self._files) >= self.META_BATCH:
                self._flush_files()

