"""The importer: takes records one by one (from an archive or a live connection), checks each, and writes
them in batches.

- Every object is checked on its own before any write (``archive.validate``); an invalid one is rejected with
  its position, field and reason and never reaches the database.
- Valid objects are written in batches (bulk_create / bulk_update, a few queries per thousand objects) inside
  one transaction per batch. If the database refuses a batch, it is retried object by object, each in its
  own transaction, so one bad row costs only itself: nothing is ever half-written.
- Everything is keyed by the legacy ids, so importing the same data again creates nothing and changes
  nothing (``unchanged``).
- Memory stays flat: only the current batches and compact stores of ids are held: the ids already seen (for
  duplicate detection; 8 bytes each for messages, runs and steps, about 30 with their place for assistants and
  threads) and the threads touched (8 bytes each). The ids seen are let go before the closing steps.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from django.conf import settings
from django.db import DatabaseError, connection, reset_queries, transaction
from django.db.models import Count
from django.utils import timezone

from migrator.core.models import Assistant, Connection
from migrator.core.services import audit
from migrator.inventory.archive import validate as v
from migrator.inventory.archive.reader import Record
from migrator.inventory.models import (
    AssistantRevision,
    LegacyFile,
    LegacyMessage,
    LegacyRun,
    LegacyThread,
    VectorStore,
)
from migrator.inventory.services import drift, sql, stats, usage
from migrator.inventory.services.intake import Intake, Item, PkCounts, PkSet, SeenIds, SeenPlaces, where_of
from migrator.inventory.services.report import ImportReport

logger = logging.getLogger(__name__)

ASSISTANT_FIELDS = ("name", "description", "model", "instructions", "tools", "tool_resources", "response_format",
                    "temperature", "top_p", "reasoning_effort", "metadata", "raw", "legacy_created_at")
MESSAGE_FIELDS = ("role", "content", "text", "attachments", "metadata", "run_legacy_id", "assistant_legacy_id",
                  "created_at_legacy", "extra")
RUN_FIELDS = ("assistant_legacy_id", "status", "model", "usage", "steps", "tool_calls", "created_at_legacy", "raw")
STORE_FIELDS = ("name", "status", "file_counts", "file_ids", "usage_bytes", "expires_after", "expires_at",
                "last_active_at", "created_at_legacy", "metadata", "raw")
FILE_FIELDS = ("filename", "bytes", "purpose", "status", "expires_at", "created_at_legacy", "raw")
MESSAGE_INSERT = ("thread", "legacy_id", "position", *MESSAGE_FIELDS)
THREAD_FIELDS = ("metadata", "tool_resources", "created_at_legacy", "raw", "is_stub")
INFO_FIELDS = ("flow_slug", "end_user_id", "tags", "assistant_legacy_id", "assistant_from_list")

_dumps = json.JSONEncoder(separators=(",", ":")).encode  # what JSONField stores, without its per-value setup


def _json(value: Any) -> str:
    """JSON text for a JSON column; the empty containers most messages carry cost nothing.

    orjson encodes about ten times faster than the standard library, which matters at 400,000 messages. It
    refuses what parsed JSON can still hold (integers beyond 64 bits), and those take the standard path."""
    if not value:
        if value == []:
            return "[]"
        if value == {}:
            return "{}"
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        return _dumps(value)


def _message_row(thread_pk: int, position: int, c: dict[str, Any]) -> tuple:
    """A new message as the values of MESSAGE_INSERT, ready for the database."""
    return (thread_pk, c["legacy_id"], position, c["role"], _json(c["content"]), c["text"], _json(c["attachments"]),
            _json(c["metadata"]), c["run_legacy_id"], c["assistant_legacy_id"], c["created_at_legacy"],
            _json(c["extra"]))


# Every column of a new thread or run, in COPY order: the importer writes them as prepared tuples, like messages.
THREAD_INSERT = ("legacy_id", "source", "is_stub", "metadata", "tool_resources", "created_at_legacy", "raw",
                 "flow_slug", "end_user_id", "tags", "assistant_legacy_id", "assistant_from_list", "assistant",
                 "last_message_at", "message_count", "user_turns", "assistant_turns", "run_count", "approx_tokens",
                 "imported_at", "updated_at")
RUN_INSERT = ("thread", "legacy_id", *RUN_FIELDS)


def _datetime(value: Any) -> Any:
    """A datetime as the database takes it (SQLite: naive UTC text, as the ORM writes it; PostgreSQL: as is)."""
    return connection.ops.adapt_datetimefield_value(value)


def _thread_row(legacy_id: str, source: str, values: dict[str, Any], now: Any) -> tuple:
    """A new thread as the values of THREAD_INSERT (figures and the assistant link come at the end)."""
    return (legacy_id, source, values["is_stub"], _json(values.get("metadata", {})),
            _json(values.get("tool_resources", {})), _datetime(values.get("created_at_legacy")),
            _json(values.get("raw", {})), values.get("flow_slug", ""), values.get("end_user_id", ""),
            _json(values.get("tags", [])), values.get("assistant_legacy_id", ""),
            values.get("assistant_from_list", False), None, None, 0, 0, 0, 0, 0, now, now)


def _run_row(thread_pk: int, c: dict[str, Any]) -> tuple:
    """A new run as the values of RUN_INSERT (``usage`` may be SQL NULL)."""
    return (thread_pk, c["legacy_id"], c["assistant_legacy_id"], c["status"], c["model"],
            None if c["usage"] is None else _json(c["usage"]), _json(c["steps"]), _json(c["tool_calls"]),
            _datetime(c["created_at_legacy"]), _json(c["raw"]))


class Importer(Intake):
    ASSISTANT_BATCH = 500
    THREAD_BATCH = 1000
    MESSAGE_BATCH = 2000
    RUN_BATCH = 1000
    STEP_BATCH = 2000
    META_BATCH = 500

    def __init__(
        self,
        *,
        source: str,
        actor,
        connection: Connection | None = None,
        job_id: int | None = None,
        on_progress: Callable[[str], None] | None = None,
    ) -> None:
        self.report = ImportReport()
        self.source = source[:200]
        self.actor = actor
        self.connection = connection
        self.job_id = job_id
        self.on_progress = on_progress
        self.now = timezone.now()
        self.header: dict[str, Any] = {}
        self.stopped = False
        self.finished = False  # released (see release): reading on would miss duplicates
        self._assistants: list[Item] = []
        self._threads: list[Item] = []
        self._messages: list[Item] = []
        self._runs: list[Item] = []
        self._pending_runs: dict[str, dict[str, Any]] = {}  # legacy id → cleaned run not yet written
        self._steps: list[Item] = []
        self._stores: list[Item] = []
        self._files: list[Item] = []
        self._infos: dict[str, Item] = {}
        # Ids seen so far, for duplicates; each store keeps about 8-30 bytes an id (see intake).
        self._seen: dict[str, SeenPlaces] = {kind: SeenPlaces() for kind in ("assistant", "thread", "vector_store",
                                                                             "file")}
        self._seen_hashes: dict[str, SeenIds] = {"message": SeenIds(), "run": SeenIds(), "step": SeenIds()}
        self._stub_created = SeenIds()  # legacy ids of the stub threads this import made
        # Threads created by this import → how many messages this import gave them so far. Their messages
        # cannot be in the database from before, so no lookup is needed (duplicates are caught in memory).
        self._fresh = PkCounts()
        self.touched_threads = PkSet()
        self.renumber = PkSet()
        self.changed = False
        self._records = 0
        self._last_tick = time.monotonic()

    # --- writing --------------------------------------------------------------------------------------
    def _write(self, items: list[tuple[Record, dict[str, Any], Any]], write: Callable[[list], None],
               kind: str) -> list[tuple[Record, dict[str, Any], Any]]:
        """Write a batch in one transaction; if the database refuses it, write object by object so only the
        offending ones are rejected. Returns what was written."""
        if not items:
            return []
        # Model objects only: new messages travel as plain row tuples (see _flush_messages).
        states = [(item[2], item[2]._state.adding, item[2].pk) for item in items if hasattr(item[2], "_state")]
        try:
            with transaction.atomic():
                sql.relaxed_commit()
                write(items)
            return items
        except DatabaseError:
            logger.warning("batch of %s %s refused; retrying one by one", len(items), kind, exc_info=True)
        for obj, adding, pk in states:  # the rolled-back batch may have set pks on objects never saved
            obj._state.adding = adding
            obj.pk = pk
        written = []
        for item in items:
            try:
                with transaction.atomic():
                    write([item])
                written.append(item)
            except DatabaseError as exc:
                self.report.error(where_of(item[0], item[1]), f"the database refused it: {exc}", kind=kind)
        return written

    def flush(self) -> None:
        self._flush_assistants()
        self._flush_steps()  # flushes threads, messages and runs first
        self._flush_messages()
        self._flush_stores()
        self._flush_files()

    def _flush_stores(self) -> None:
        batch, self._stores = self._stores, []
        self._flush_meta(batch, VectorStore, STORE_FIELDS, "vector_stores")

    def _flush_files(self) -> None:
        batch, self._files = self._files, []
        self._flush_meta(batch, LegacyFile, FILE_FIELDS, "files")

    def _flush_assistants(self) -> None:
        batch, self._assistants = self._assistants, []
        if not batch:
            return
        existing = {a.legacy_id: a for a in Assistant.objects.filter(legacy_id__in=[c["legacy_id"] for _, c in batch])}
        work: list[tuple[Record, dict[str, Any], Any]] = []
        for record, cleaned in batch:
            after = drift.definition_of(cleaned)
            row = existing.get(cleaned["legacy_id"])
            if row is None:
                obj = Assistant(
                    legacy_id=cleaned["legacy_id"], connection=self.connection, source=self.source,
                    definition_hash=drift.definition_hash(after), imported_at=self.now, last_imported_at=self.now,
                    **{f: cleaned[f] for f in ASSISTANT_FIELDS},
                )
                work.append((record, cleaned, obj))
                continue
            before = drift.definition_of(row)
            if all(getattr(row, f) == cleaned[f] for f in ASSISTANT_FIELDS if f != "legacy_created_at") and (
                before == after
            ):
                self.report.add("assistants", "unchanged")
                continue
            fields = drift.changed_fields(before, after)
            for f in ASSISTANT_FIELDS:
                setattr(row, f, cleaned[f])
            row.last_imported_at = self.now
            row.updated_at = self.now
            row.source = self.source
            if self.connection is not None:
                row.connection = self.connection
            if fields or not row.definition_hash:
                row.definition_hash = drift.definition_hash(after)
            if fields:
                row.needs_review = True
            row._drift = (before, after, fields)  # type: ignore[attr-defined]
            work.append((record, cleaned, row))

        def write(items: list) -> None:
            new = [obj for _, _, obj in items if obj._state.adding]
            old = [obj for _, _, obj in items if not obj._state.adding]
            sql.create_objects(Assistant, new)
            if old:
                Assistant.objects.bulk_update(
                    old, [*ASSISTANT_FIELDS, "last_imported_at", "updated_at", "source", "connection",
                          "definition_hash", "needs_review"], batch_size=200,
                )
            for obj in old:
                before, after, fields = obj._drift
                if not fields:
                    continue
                AssistantRevision.objects.create(
                    assistant=obj, before={f: before[f] for f in fields}, after={f: after[f] for f in fields},
                    changed_fields=fields, source=self.source, job_id=self.job_id,
                    actor=self.actor if getattr(self.actor, "is_authenticated", False) else None,
                )
                audit.record(actor=self.actor, verb="migrator.assistant.definition_drifted", obj=obj,
                             before={f: before[f] for f in fields}, after={f: after[f] for f in fields},
                             data={"changed_fields": fields, "source": self.source})

        written = self._write(work, write, "assistant")
        for _, _, obj in written:
            created = not hasattr(obj, "_drift")
            self.report.add("assistants", "created" if created else "updated")
        if written:
            self.changed = True
        # After the batch committed: tell the prompts app (drafts go back to review).
        for _, _, obj in written:
            state = getattr(obj, "_drift", None)
            if state and state[2]:
                self.report.drifted.append(obj.legacy_id)
                for failure in drift.notify(assistant=obj, before=state[0], after=state[1], fields=state[2],
                                            actor=self.actor):
                    self.report.error(f"assistant {obj.legacy_id}", f"the drift was recorded, but reacting to it "
                                      f"failed: {failure}", rejected=False)

    def _apply_info(self, values: dict[str, Any], legacy_id: str) -> None:
        found = self._infos.pop(legacy_id, None)
        if found is None:
            return
        info = found[1]
        values.update(flow_slug=info["flow_slug"], end_user_id=info["end_user_id"], tags=info["tags"])
        if info["assistant_legacy_id"]:
            values.update(assistant_legacy_id=info["assistant_legacy_id"], assistant_from_list=True)

    def _flush_threads(self) -> None:
        batch, self._threads = self._threads, []
        if not batch:
            return
        ids = [c["legacy_id"] for _, c in batch]
        existing = {t.legacy_id: t for t in LegacyThread.objects.filter(legacy_id__in=ids)}
        now = _datetime(timezone.now())
        new_rows = []
        work = []
        for record, cleaned in batch:
            values = {f: cleaned[f] for f in THREAD_FIELDS if f in cleaned}
            values["is_stub"] = False
            self._apply_info(values, cleaned["legacy_id"])
            row = existing.get(cleaned["legacy_id"])
            if row is None:
                new_rows.append((record, cleaned, _thread_row(cleaned["legacy_id"], self.source, values, now)))
                continue
            if all(getattr(row, f) == value for f, value in values.items()):
                self.report.add("threads", "unchanged")
                continue
            for f, value in values.items():
                setattr(row, f, value)
            row.source = self.source
            row.updated_at = self.now
            work.append((record, cleaned, row))

        def write_new(items: list) -> None:
            sql.insert_prepared(LegacyThread, THREAD_INSERT, (row for _, _, row in items))

        def write(items: list) -> None:
            LegacyThread.objects.bulk_update([o for _, _, o in items],
                                             [*THREAD_FIELDS, *INFO_FIELDS, "source", "updated_at"], batch_size=500)

        written = self._write(new_rows, write_new, "thread")
        if written:
            # COPY returns no ids: the new threads' pks, by their unique legacy id.
            pks = LegacyThread.objects.filter(legacy_id__in=[c["legacy_id"] for _, c, _ in written])
            for pk in pks.values_list("pk", flat=True):
                self.touched_threads.add(pk)
                self._fresh[pk] = 0
            self.report.add("threads", "created", len(written))
            self.changed = True
        for _, cleaned, obj in self._write(work, write, "thread"):
            self.touched_threads.add(obj.pk)
            if cleaned["legacy_id"] not in self._stub_created:  # a stub made earlier in this import, now filled
                self.report.add("threads", "updated")
            self.changed = True

    def _thread_pks(self, legacy_ids: set[str]) -> dict[str, int]:
        """Thread pks by legacy id; threads only named by messages or runs get a stub row (message-list dumps
        carry no thread objects)."""
        found = dict(LegacyThread.objects.filter(legacy_id__in=legacy_ids).values_list("legacy_id", "pk"))
        missing = [t for t in legacy_ids if t not in found]
        if missing:
            stubs = []
            for legacy_id in missing:
                values: dict[str, Any] = {"is_stub": True}
                self._apply_info(values, legacy_id)
                stubs.append(LegacyThread(legacy_id=legacy_id, source=self.source, **values))
            LegacyThread.objects.bulk_create(stubs, batch_size=500, ignore_conflicts=True)
            created = dict(LegacyThread.objects.filter(legacy_id__in=missing).values_list("legacy_id", "pk"))
            found.update(created)
            for legacy_id, pk in created.items():
                self._stub_created.add(legacy_id)
                self._fresh[pk] = 0
            self.report.add("threads", "created", len(created))
            self.touched_threads.update(created.values())
            self.changed = True
        return found

    def _flush_messages(self) -> None:
        self._flush_threads()
        batch, self._messages = self._messages, []
        if not batch:
            return
        if settings.DEBUG:
            reset_queries()  # DEBUG keeps every SQL string; a long import would otherwise grow without bound
        thread_pks = self._thread_pks({c["thread_legacy_id"] for _, c in batch})
        fresh = {pk for pk in set(thread_pks.values()) if pk in self._fresh}
        known = [c for _, c in batch if thread_pks[c["thread_legacy_id"]] not in fresh]
        existing = {
            (row["thread_id"], row["legacy_id"]): row
            for row in LegacyMessage.objects.filter(
                thread_id__in={thread_pks[c["thread_legacy_id"]] for c in known},
                legacy_id__in=[c["legacy_id"] for c in known],
            ).values("pk", "thread_id", "legacy_id", "position", *MESSAGE_FIELDS)
        } if known else {}
        new_by_thread: dict[int, list[tuple[Record, dict[str, Any]]]] = {}
        changed = []
        for record, cleaned in batch:
            thread_pk = thread_pks[cleaned["thread_legacy_id"]]
            row = existing.get((thread_pk, cleaned["legacy_id"]))
            if row is None:
                new_by_thread.setdefault(thread_pk, []).append((record, cleaned))
            elif all(row[f] == cleaned[f] for f in MESSAGE_FIELDS):
                self.report.add("messages", "unchanged")
            else:
                if row["created_at_legacy"] != cleaned["created_at_legacy"]:
                    self.renumber.add(thread_pk)
                obj = LegacyMessage(pk=row["pk"], thread_id=thread_pk, legacy_id=cleaned["legacy_id"],
                                    position=row["position"], **{f: cleaned[f] for f in MESSAGE_FIELDS})
                obj._state.adding = False
                changed.append((record, cleaned, obj))
        counts = {pk: self._fresh[pk] for pk in new_by_thread if pk in fresh}
        older = [pk for pk in new_by_thread if pk not in fresh]
        if older:
            counts.update(LegacyMessage.objects.filter(thread_id__in=older).values("thread_id")
                          .annotate(n=Count("pk")).values_list("thread_id", "n"))
        new_rows = []
        for thread_pk, items in new_by_thread.items():
            start = counts.get(thread_pk, 0)
            if start:
                self.renumber.add(thread_pk)  # joins earlier messages: order the whole thread afterwards
            ordered = stats.chronological([(c["created_at_legacy"], (r, c)) for r, c in items])
            for offset, (record, cleaned) in enumerate(ordered):
                new_rows.append((record, cleaned, _message_row(thread_pk, start + offset, cleaned)))

        def write_new(items: list) -> None:
            # The hot path of a large import: one tuple per message, JSON encoded once, straight into COPY
            # (PostgreSQL) or multi-row INSERTs (SQLite); no model object, no per-field ORM preparation.
            sql.insert_prepared(LegacyMessage, MESSAGE_INSERT, (row for _, _, row in items))

        def write_changed(items: list) -> None:
            LegacyMessage.objects.bulk_update([o for _, _, o in items], list(MESSAGE_FIELDS), batch_size=500)

        written = self._write(new_rows, write_new, "message")
        by_thread: dict[int, int] = {}
        for _, _, row in written:
            by_thread[row[0]] = by_thread.get(row[0], 0) + 1
        for thread_id, n in by_thread.items():
            if thread_id in fresh:
                self._fresh[thread_id] = self._fresh[thread_id] + n
            self.touched_threads.add(thread_id)
        if written:
            self.report.add("messages", "created", len(written))
            self.changed = True
        for _, _, obj in self._write(changed, write_changed, "message"):
            self.report.add("messages", "updated")
            self.touched_threads.add(obj.thread_id)
            self.changed = True

    def _flush_runs(self) -> None:
        self._flush_threads()
        batch, self._runs = self._runs, []
        self._pending_runs = {}
        if not batch:
            return
        thread_pks = self._thread_pks({c["thread_legacy_id"] for _, c in batch})
        fresh = {pk for pk in set(thread_pks.values()) if pk in self._fresh}
        known = [c for _, c in batch if thread_pks[c["thread_legacy_id"]] not in fresh]
        existing = {
            (row.thread_id, row.legacy_id): row
            for row in LegacyRun.objects.filter(thread_id__in={thread_pks[c["thread_legacy_id"]] for c in known},
                                                legacy_id__in=[c["legacy_id"] for c in known])
        } if known else {}
        new_rows = []
        work = []
        for record, cleaned in batch:
            thread_pk = thread_pks[cleaned["thread_legacy_id"]]
            values = {f: cleaned[f] for f in RUN_FIELDS}
            row = existing.get((thread_pk, cleaned["legacy_id"]))
            if row is None:
                new_rows.append((record, cleaned, _run_row(thread_pk, cleaned)))
                continue
            if not cleaned["steps"] and row.steps:  # steps may arrive as records of their own
                values["steps"] = row.steps
                values["tool_calls"] = row.tool_calls
            if all(getattr(row, f) == value for f, value in values.items()):
                self.report.add("runs", "unchanged")
                continue
            for f, value in values.items():
                setattr(row, f, value)
            work.append((record, cleaned, row))

        def write_new(items: list) -> None:
            sql.insert_prepared(LegacyRun, RUN_INSERT, (row for _, _, row in items))

        def write(items: list) -> None:
            LegacyRun.objects.bulk_update([o for _, _, o in items], list(RUN_FIELDS), batch_size=500)

        written = self._write(new_rows, write_new, "run")
        self.touched_threads.update({row[0] for _, _, row in written})
        if written:
            self.report.add("runs", "created", len(written))
            self.changed = True
        for _, _, obj in self._write(work, write, "run"):
            self.report.add("runs", "updated")
            self.touched_threads.add(obj.thread_id)
            self.changed = True

    def _flush_steps(self) -> None:
        self._flush_messages()
        self._flush_runs()
        batch, self._steps = self._steps, []
        if not batch:
            return
        runs: dict[str, list[LegacyRun]] = {}
        for run in LegacyRun.objects.filter(legacy_id__in={c["run_legacy_id"] for _, c in batch}).select_related(
            "thread"
        ):
            runs.setdefault(run.legacy_id, []).append(run)
        grouped: dict[int, tuple[LegacyRun, list[Item]]] = {}
        for record, cleaned in batch:
            candidates = runs.get(cleaned["run_legacy_id"], [])
            if cleaned["thread_legacy_id"]:
                candidates = [r for r in candidates if r.thread.legacy_id == cleaned["thread_legacy_id"]]
            if not candidates:
                self.report.error(where_of(record, cleaned, "run_id"), f"names run {cleaned['run_legacy_id']}, which "
                                  "is neither in this import nor imported before.", kind="step")
                continue
            grouped.setdefault(candidates[0].pk, (candidates[0], []))[1].append((record, cleaned))
        work = []
        for run, items in grouped.values():
            merged = {s.get("id"): s for s in run.steps}
            for _, cleaned in items:
                merged[cleaned["legacy_id"]] = cleaned["raw"]
            steps = sorted(merged.values(), key=lambda s: (s.get("created_at") or 0, str(s.get("id"))))
            if steps == run.steps:
                continue
            run.steps = steps
            run.tool_calls = v.count_tool_calls(steps, run.raw)
            work.append((items[0][0], items[0][1], run))

        def write(items: list) -> None:
            LegacyRun.objects.bulk_update([o for _, _, o in items], ["steps", "tool_calls"], batch_size=200)

        for _, _, run in self._write(work, write, "step"):
            self.touched_threads.add(run.thread_id)
            self.changed = True

    def _flush_meta(self, batch: list[Item], model: type, fields: tuple[str, ...], bucket: str) -> None:
        if not batch:
            return
        existing = {o.legacy_id: o for o in model.objects.filter(legacy_id__in=[c["legacy_id"] for _, c in batch])}
        work = []
        for record, cleaned in batch:
            row = existing.get(cleaned["legacy_id"])
            values = {f: cleaned[f] for f in fields}
            if row is None:
                work.append((record, cleaned, model(legacy_id=cleaned["legacy_id"], **values)))
            elif all(getattr(row, f) == value for f, value in values.items()) and not row.fetch_error:
                self.report.add(bucket, "unchanged")
            else:
                for f, value in values.items():
                    setattr(row, f, value)
                row.fetch_error = ""
                work.append((record, cleaned, row))

        def write(items: list) -> None:
            new = [o for _, _, o in items if o._state.adding]
            old = [o for _, _, o in items if not o._state.adding]  # before bulk_create flips adding
            model.objects.bulk_create(new, batch_size=200)
            if old:
                model.objects.bulk_update(old, [*fields, "fetch_error"], batch_size=200)

        adding = {id(o): o._state.adding for _, _, o in work}
        kind = "vector_store" if bucket == "vector_stores" else "file"
        for _, _, obj in self._write(work, write, kind):
            self.report.add(bucket, "created" if adding[id(obj)] else "updated")

    def record_missing(self, *, kind: str, legacy_id: str, error: str) -> None:
        """A vector store or file that tool resources name but the live API could not return."""
        model = VectorStore if kind == "vector_store" else LegacyFile
        with transaction.atomic():
            row, created = model.objects.get_or_create(legacy_id=legacy_id, defaults={"fetch_error": error,
                                                                                      "status": "missing"})
            if not created and row.fetch_error != error:
                row.fetch_error = error
                row.save(update_fields=["fetch_error", "updated_at"])

    # --- the end --------------------------------------------------------------------------------------
    def finish(self) -> ImportReport:
        """Write what is left, let go of what only reading needed, then recompute positions, thread figures
        and assistant usage (set-based)."""
        self.flush()
        self._finish_infos()
        self.release()
        if self.on_progress:
            self.on_progress("Computing thread figures and usage…")
        if self.report.counts["messages"]["created"] > 20_000:
            stats.analyze()  # fresh planner statistics after a bulk load, before the set-based queries
        stats.renumber_positions(self.renumber)
        linked = stats.refresh_threads(self.touched_threads)
        if self.changed or linked:
            usage.recompute_usage()
        audit.record(actor=self.actor, verb="migrator.inventory.imported", obj=self.connection,
                     data={"source": self.source, "counts": self.report.counts,
                           "errors": len(self.report.errors) + self.report.errors_dropped, "job": self.job_id})
        return self.report

    def release(self) -> None:
        """Drop what only the intake needs: the ids seen (for duplicates) and the threads this import created
        (for positions). They grow with the archive (tens of MB at 2 million messages), and the closing steps
        must not run on top of them; from here on the importer takes no more records."""
        self.finished = True
        self._seen = {kind: SeenPlaces() for kind in self._seen}
        self._seen_hashes = {kind: SeenIds() for kind in self._seen_hashes}
        self._fresh = PkCounts()
        self._stub_created = SeenIds()
        self._pending_runs = {}

    def _finish_infos(self) -> None:
        """Thread list entries whose thread object never came: update threads imported before, or report."""
        if not self._infos:
            return
        pending, self._infos = self._infos, {}
        rows = {t.legacy_id: t for t in LegacyThread.objects.filter(legacy_id__in=list(pending))}
        changed = []
        for legacy_id, (record, info) in pending.items():
            row = rows.get(legacy_id)
            if row is None:
                self.report.error(where_of(record, info), "the thread list names this thread, but it is not in the "
                                  "import and was not imported before.", kind="thread_info")
                continue
            values = {"flow_slug": info["flow_slug"], "end_user_id": info["end_user_id"], "tags": info["tags"]}
            if info["assistant_legacy_id"]:
                values.update(assistant_legacy_id=info["assistant_legacy_id"], assistant_from_list=True)
            if all(getattr(row, f) == value for f, value in values.items()):
                continue
            for f, value in values.items():
                setattr(row, f, value)
            changed.append(row)
        if changed:
            with transaction.atomic():
                LegacyThread.objects.bulk_update(changed, list(INFO_FIELDS), batch_size=500)
            self.report.add("threads", "updated", len(changed))
            self.touched_threads.update(r.pk for r in changed)
            self.changed = True
