"""Inventory job kinds: thin wrappers that hand a job's params to the services."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from migrator.core.jobs import job_handler
from migrator.core.models import Connection
from migrator.core.services import ServiceError
from migrator.core.services.jobs import JobContext
from migrator.inventory.services import connections, imports

logger = logging.getLogger(__name__)


def upload_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "inventory-imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _inside_uploads(path: Path) -> bool:
    try:
        path.resolve().relative_to(upload_dir().resolve())
    except ValueError:
        return False
    return True


def _connection(ctx: JobContext) -> Connection:
    try:
        return Connection.objects.get(pk=ctx.params["connection_id"])
    except (KeyError, Connection.DoesNotExist):
        raise ServiceError("The connection of this job no longer exists.") from None


@job_handler("inventory.test_connection", label="Test connection")
def test_connection(ctx: JobContext) -> dict:
    connection = _connection(ctx)
    ctx.progress(0, 4, f"Probing {connection.name}…")
    ctx.produced(reverse("inventory:connection_list"), "Connections")
    result = connections.test_connection(connection=connection, actor=ctx.actor)
    for api, detail in result["details"].items():
        ctx.log(f"{api}: {'answers' if detail['ok'] else 'does not answer'} — {detail['detail']}")
    ctx.progress(4, 4, "Done")
    return result


# Imports of large organisations read hundreds of megabytes and thousands of threads: allow hours.
_IMPORT_LIMITS = {"soft_time_limit": 4 * 3600, "time_limit": 4 * 3600 + 300}


def _remove_upload(job) -> None:
    """A crashed or reaped import leaves its upload behind: remove it (the file is not needed to start again,
    which asks for the upload anew, and may hold customer data)."""
    for key in ("path", "threads_file"):
        value = (job.params or {}).get(key)
        if value and (key == "threads_file" or job.params.get("delete_after")) and _inside_uploads(Path(value)):
            Path(value).unlink(missing_ok=True)


@job_handler("inventory.import_archive", label="Import archive", unit="bytes", on_abandoned=_remove_upload,
             **_IMPORT_LIMITS)
def import_archive(ctx: JobContext) -> dict:
    path = Path(ctx.params["path"])
    ctx.produced(reverse("core:assistant_list"), "Imported assistants")
    try:
        report = imports.import_archive(path=path, actor=ctx.actor, job_ctx=ctx,
                                        source=ctx.params.get("filename", path.name))
    finally:
        # Uploaded archives can be large; they are not kept once imported (the objects are in the database).
        if ctx.params.get("delete_after") and _inside_uploads(path):
            path.unlink(missing_ok=True)
    return report.to_dict()


@job_handler("inventory.import_connection", label="Import from connection", on_abandoned=_remove_upload,
             **_IMPORT_LIMITS)
def import_connection(ctx: JobContext) -> dict:
    connection = _connection(ctx)
    ctx.produced(reverse("core:assistant_list"), "Imported assistants")
    threads = ctx.params.get("threads") or []
    threads_file = ctx.params.get("threads_file")
    if threads_file:
        path = Path(threads_file)
        try:
            threads = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ServiceError(f"The stored thread list could not be read: {exc}") from exc
    try:
        report = imports.import_from_connection(connection=connection, actor=ctx.actor,
                                                thread_ids=threads, job_ctx=ctx)
    finally:
        if threads_file and _inside_uploads(Path(threads_file)):
            Path(threads_file).unlink(missing_ok=True)
    return report.to_dict()


def _remove_export(job) -> None:
    """A crashed or reaped export leaves a half-written archive: remove it (starting again writes a new one)."""
    from migrator.inventory.services.exports import archive_path

    archive_path(job.pk).unlink(missing_ok=True)


@job_handler("inventory.export_archive", label="Export archive", on_abandoned=_remove_export, **_IMPORT_LIMITS)
def export_archive(ctx: JobContext) -> dict:
    """The export page's job: the archive goes to a file named after the job; its page links the download."""
    from migrator.inventory.services import exports

    connection = _connection(ctx)
    target = exports.archive_path(ctx.job_id)
    threads = ctx.params.get("threads") or []
    ctx.log(f"Exporting every assistant of {connection.name} and {len(threads):,} listed thread(s).")
    try:
        result = imports.export_archive(connection=connection, out=target, actor=ctx.actor, thread_ids=threads,
                                        job_ctx=ctx)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    ctx.produced(reverse("inventory:export_download", args=[ctx.job_id]), "The archive")
    for problem in result["problems"]:
        ctx.log(f"{problem['where']}: {problem['message']}")
    return {**result, "summary": exports.counts_in_words(result["counts"]), "bytes": target.stat().st_size}
