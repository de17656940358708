"""The importer's intake: each record is checked on its own, duplicates are caught, and valid objects are
buffered until their batch is written (see :mod:`migrator.inventory.services.writer`)."""

from __future__ import annotations

import heapq
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
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


class SeenPlaces:
    """The ids of one kind seen so far, with where each was first seen (the duplicate's error names it), at
    about 30 bytes an id: the 64-bit hash in sorted buckets as in :class:`SeenIds`, beside it the offset of the
    place ("line 12") in one text buffer. A dict of id → place cost about 150 bytes an id (two str objects and
    the slot): 23 MB for the 150,000 assistants and threads of a 50,000-assistant archive."""

    BITS = 12

    def __init__(self) -> None:
        self._hashes: list[array | None] = [None] * (1 << self.BITS)
        self._offsets: list[array | None] = [None] * (1 << self.BITS)
        self._mask = (1 << self.BITS) - 1
        self._text = bytearray()
        self.count = 0

    def first(self, key: str, where: str) -> str | None:
        """Remember that ``key`` was seen at ``where``; if it was seen before, where that was instead."""
        digest = hash(key)
        index = digest & self._mask
        hashes = self._hashes[index]
        offset = len(self._text)
        if hashes is None:
            self._hashes[index] = array("q", (digest,))
            self._offsets[index] = array("q", (offset,))
        else:
            at = bisect_left(hashes, digest)
            offsets = self._offsets[index]
            assert offsets is not None
            if at < len(hashes) and hashes[at] == digest:
                start = offsets[at]
                return self._text[start : self._text.index(0, start)].decode()
            hashes.insert(at, digest)
            offsets.insert(at, offset)
        self._text += where.replace("\0", "").encode() + b"\0"
        self.count += 1
        return None

    def __len__(self) -> int:
        return self.count


class PkSet:
    """Row ids at about 8 bytes each: a sorted ``array('q')``, and the ids added since it was last merged in a
    small set (merged when it reaches an eighth of the array, so adding costs a few steps an id). Iterates in
    ascending order. A set of ints cost about 70 bytes an id (the int and its slot)."""

    MERGE_AT = 4096
    ordered = True  # iteration is sorted: stats.chunks need not sort it again

    def __init__(self, pks: Iterable[int] = ()) -> None:
        self._sorted = array("q")
        self._recent: set[int] = set()
        self.update(pks)

    def add(self, pk: int) -> None:
        self._recent.add(pk)
        if len(self._recent) >= self.MERGE_AT and len(self._recent) >= len(self._sorted) >> 3:
            self._merge()

    def update(self, pks: Iterable[int]) -> None:
        for pk in pks:
            self.add(pk)

    def _merge(self) -> None:
        if not self._recent:
            return
        new = sorted(self._recent)
        self._recent = set()
        old = self._sorted
        if not old or new[0] > old[-1]:  # ids from a sequence: all above what is there
            old.extend(new)
            return
        merged = array("q")
        last = None
        for pk in heapq.merge(old, new):
            if pk != last:
                merged.append(pk)
                last = pk
        self._sorted = merged

    def __contains__(self, pk: int) -> bool:
        if pk in self._recent:
            return True
        at = bisect_left(self._sorted, pk)
        return at < len(self._sorted) and self._sorted[at] == pk

    def __iter__(self) -> Iterator[int]:
        self._merge()
        return iter(self._sorted)

    def __len__(self) -> int:
        self._merge()
        return len(self._sorted)

    def __bool__(self) -> bool:
        return bool(self._recent) or bool(self._sorted)


class PkCounts:
    """Row id → count at 16 bytes an entry: two parallel ``array('q')`` ordered by id. The importer's new
    threads come with rising ids, so an insert is nearly always an append. A dict cost about 100 bytes."""

    def __init__(self) -> None:
        self._pks = array("q")
        self._counts = array("q")

    def _at(self, pk: int) -> tuple[int, bool]:
        at = bisect_left(self._pks, pk)
        return at, at < len(self._pks) and self._pks[at] == pk

    def __contains__(self, pk: int) -> bool:
        return self._at(pk)[1]

    def __getitem__(self, pk: int) -> int:
        at, found = self._at(pk)
        if not found:
            raise KeyError(pk)
        return self._counts[at]

    def __setitem__(self, pk: int, count: int) -> None:
        at, found = self._at(pk)
        if found:
            self._counts[at] = count
        else:
            self._pks.insert(at, pk)
            self._counts.insert(at, count)

    def __len__(self) -> int:
        return len(self._pks)

    def __bool__(self) -> bool:
        return bool(self._pks)


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
        if self.finished:
            raise RuntimeError("this import has finished; the ids it saw are gone, so start a new Importer")
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
            first = self._seen[record.kind].first(key, record.where)
            if first is not None:
                self.report.error(where_of(record, cleaned, "id"), f"duplicate id; the same {LABELS[record.kind]} "
                                  f"appeared earlier ({first}), which was kept.", kind=record.kind)
                return True
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

