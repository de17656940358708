"""Import from an export archive or a live connection, and export from a connection into an archive.

Keyword-only services, called alike by the job handlers (web pages), the management commands and tests.
Each returns an :class:`ImportReport` whose ``to_dict()`` is what ``Job.result`` and ``--json`` show.
"""

from __future__ import annotations

import gc
import gzip
import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import openai

from migrator.core.actors import may
from migrator.core.models import Connection
from migrator.core.openai_client import client_for, describe_error
from migrator.core.services import NotAllowed, ServiceError
from migrator.core.services.connection_access import require_use
from migrator.core.services.jobs import JobCancelled, JobContext
from migrator.inventory.archive.reader import (
    FORMAT_NAME,
    FORMAT_VERSION,
    ArchiveError,
    ArchiveReader,
    Problem,
    Record,
)
from migrator.inventory.services import connections
from migrator.inventory.services.live import AssistantsApiGone, LiveReader
from migrator.inventory.services.report import ImportReport
from migrator.inventory.services.writer import Importer
from migrator.inventory.thread_ids import ThreadRef

logger = logging.getLogger(__name__)

IMPORT_PERMISSION = "inventory.import_assistants"


def _check(actor) -> None:
    if not may(actor, IMPORT_PERMISSION):
        raise NotAllowed("You may not import assistants (Engineers can).")


def _refs(thread_ids: Iterable[ThreadRef | str | dict[str, Any]] | None) -> list[ThreadRef]:
    refs = []
    for i, item in enumerate(thread_ids or [], start=1):
        if isinstance(item, ThreadRef):
            refs.append(item)
        elif isinstance(item, str):
            refs.append(ThreadRef(thread_id=item, line=i))
        else:
            refs.append(ThreadRef.from_dict(item, line=i))
    return refs


@contextmanager
def _bulk_gc() -> Iterator[None]:
    """Fewer garbage collections while a large import runs.

    An import allocates millions of short-lived containers (a dict per parsed object, tuples per row) and none
    of them form cycles, yet every 700 allocations CPython's collector runs, and every so often it walks all
    live objects, Django's own included: a third of a large import's CPU. Objects alive before the import are
    frozen (never walked), and the young generation is collected every 50,000 allocations instead of 700;
    both are restored when the import ends, however it ends."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, thresholds[1], thresholds[2])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _run(importer: Importer, items: Iterable[Record | Problem], log) -> ImportReport:
    with _bulk_gc():
        try:
            importer.feed(items)
        except JobCancelled:
            # What was imported stays (every batch committed on its own); make its figures right, then stop.
            importer.finish()
            raise
        report = importer.finish()
    # The summary names every kind (runs, vector stores and files too) in words, never as a dict.
    log(f"Import finished: {report.summary()}.")
    return report


def import_archive(*, path: str | Path, actor, job_ctx: JobContext | None = None, source: str = "") -> ImportReport:
    """Import an export archive (JSON or JSON Lines, optionally gzipped) from a file on disk."""
    _check(actor)
    try:
        reader = ArchiveReader(path)
    except ArchiveError as exc:
        raise ServiceError(str(exc)) from exc
    name = source or Path(path).name
    log = job_ctx.log if job_ctx else logger.info

    def progress(message: str) -> None:
        if job_ctx and reader.progress:
            job_ctx.progress(reader.progress.done, reader.progress.total, message)

    if job_ctx:
        job_ctx.progress(0, reader.size, f"Reading {name}…")
        log(f"Importing archive {name} ({reader.size:,} bytes{', gzipped' if reader.gzipped else ''}).")
    importer = Importer(source=f"archive {name}", actor=actor, job_id=job_ctx.job_id if job_ctx else None,
                        on_progress=progress)
    return _run(importer, reader, log)


def import_from_connection(
    *,
    connection: Connection,
    actor,
    thread_ids: Iterable[ThreadRef | str | dict[str, Any]] | None = None,
    job_ctx: JobContext | None = None,
) -> ImportReport:
    """Import every assistant of a live connection, the vector stores and files their tool resources name,
    and the listed threads with all their messages, runs and steps."""
    _check(actor)
    require_use(actor, connection, "import")
    refs = _refs(thread_ids)
    log = job_ctx.log if job_ctx else logger.info
    client = client_for(connection)
    try:
        count = connections.refresh_models(connection=connection, client=client)
        log(f"{connection.name} lists {count} models; their shutdown dates feed the model radar.")
    except openai.APIError as exc:
        log(f"The models endpoint did not answer ({describe_error(exc)}); the model radar uses the shipped table.")

    def progress(done: int, total: int, message: str) -> None:
        if job_ctx:
            job_ctx.progress(done, total, message)

    reader = LiveReader(client=client, connection_name=connection.name, threads=refs, on_progress=progress)
    importer = Importer(source=connection.name, actor=actor, connection=connection,
                        job_id=job_ctx.job_id if job_ctx else None)
    log(f"Importing from {connection.name}: all assistants and {len(refs)} listed threads.")
    try:
        report = _run(importer, reader, log)
    except AssistantsApiGone as exc:
        connections.mark_assistants_gone(connection=connection, detail=str(exc))
        importer.finish()
        raise
    for kind, legacy_id, error in reader.missing:
        importer.record_missing(kind=kind, legacy_id=legacy_id, error=error)
        report.error(f"{kind.replace('_', ' ')} {legacy_id}", f"named by tool resources, but the API could not "
                     f"return it: {error}", rejected=False)
    return report


# --- export ---------------------------------------------------------------------------------------------
class _JsonlWriter:
    def __init__(self, out: str | Path | IO[bytes]) -> None:
        self._own = not hasattr(out, "write")
        if self._own:
            path = Path(out)  # type: ignore[arg-type]
            path.parent.mkdir(parents=True, exist_ok=True)
            raw: IO[bytes] = path.open("wb")
            self._raw = raw
            self.stream: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="wb") if path.suffix == ".gz" else raw
        else:
            self._raw = out  # type: ignore[assignment]
            self.stream = out  # type: ignore[assignment]

    def write(self, obj: dict[str, Any]) -> None:
        self.stream.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")

    def close(self) -> None:
        if self._own:
            if self.stream is not self._raw:
                self.stream.close()
            self._raw.close()


def export_archive(
    *,
    connection: Connection,
    out: str | Path | IO[bytes],
    actor,
    thread_ids: Iterable[ThreadRef | str | dict[str, Any]] | None = None,
    job_ctx: JobContext | None = None,
) -> dict[str, Any]:
    """Write an archive (JSON Lines; gzipped when ``out`` ends in .gz) of the raw API objects a connection
    returns, in the format ``import_archive`` reads. Returns counts per kind and the problems met. The export
    page's job and ``manage.py export_assistants`` both call this; either way the audit log records it."""
    from django.utils import timezone

    from migrator.core.services import audit

    require_use(actor, connection, "export")
    refs = _refs(thread_ids)

    def progress(done: int, total: int, message: str) -> None:
        if job_ctx:
            job_ctx.progress(done, total, message)

    reader = LiveReader(client=client_for(connection), connection_name=connection.name, threads=refs,
                        on_progress=progress)
    writer = _JsonlWriter(out)
    counts: dict[str, int] = {}
    problems: list[dict[str, str]] = []
    try:
        writer.write({"object": "migrator.archive", "format": FORMAT_NAME, "format_version": FORMAT_VERSION,
                      "exported_at": timezone.now().isoformat(), "source": {"connection": connection.name,
                                                                             "base_url": connection.base_url}})
        for item in reader:
            if isinstance(item, Problem):
                problems.append({"where": item.where, "message": item.message})
                continue
            obj = item.obj
            if item.kind == "thread_info":
                obj = {"object": "migrator.thread_info", **obj}
            writer.write(obj)
            counts[item.kind] = counts.get(item.kind, 0) + 1
    except AssistantsApiGone:
        connections.mark_assistants_gone(connection=connection, detail="export: Assistants API gone")
        raise
    finally:
        writer.close()
    for kind, legacy_id, error in reader.missing:
        problems.append({"where": f"{kind.replace('_', ' ')} {legacy_id}", "message": error})
    audit.record(actor=actor, verb="migrator.inventory.exported", obj=connection,
                 data={"counts": counts, "problems": len(problems), "threads_listed": len(refs)})
    return {"counts": counts, "problems": problems}
