"""Exporting from the page: a job writes the archive under the data directory and its page offers the download.

``start_export`` is the page's door onto :func:`migrator.inventory.services.imports.export_archive` (which
``manage.py export_assistants`` calls directly, writing where ``--out`` says); the job handler in
``inventory/jobs.py`` writes to :func:`archive_path`, a name made from the job id alone, so no request ever
chooses a path on the server.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from migrator.core.actors import check_actor
from migrator.core.models import Connection, Job
from migrator.core.services import ServiceError
from migrator.core.services.connection_access import require_use
from migrator.core.services.jobs import start_job
from migrator.inventory.thread_ids import ThreadRef

EXPORT_KIND = "inventory.export_archive"
MAX_THREADS = 20_000  # a page export lists at most this many threads; larger estates use the command


def export_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "inventory-exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def archive_path(job_id: int) -> Path:
    return export_dir() / f"export-{int(job_id)}.jsonl.gz"


def download_name(job: Job) -> str:
    """What the browser saves the archive as: the connection's name (made file-safe) and the job."""
    label = "".join(c if c.isalnum() or c in "-_" else "-" for c in (job.subject_label or "export").lower())
    return f"migrator-{label.strip('-')[:60] or 'export'}-{job.pk}.jsonl.gz"


def start_export(*, actor, connection_id: int, thread_ids: list[ThreadRef] | None = None) -> Job:
    """Queue an export of every assistant of a connection (and the listed threads) into a gzipped archive."""
    check_actor(actor)
    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is None:
        raise ServiceError(f"Connection #{connection_id} does not exist.")
    require_use(actor, connection, "export")
    if connection.assistants_api_gone:
        raise ServiceError(f"The last test found no Assistants API at {connection.name} (it was shut down on "
                           "2026-08-26), so there is nothing left to export from it; test the connection again "
                           "if that has changed.")
    refs = list(thread_ids or [])
    if len(refs) > MAX_THREADS:
        raise ServiceError(f"A page export lists at most {MAX_THREADS:,} threads; use manage.py export_assistants "
                           "for more.")
    return start_job(kind=EXPORT_KIND, actor=actor, subject=connection, subject_label=connection.name,
                     params={"connection_id": connection.pk, "threads": [r.as_dict() for r in refs],
                             "thread_count": len(refs)})


def counts_in_words(counts: dict[str, int]) -> str:
    """``{"assistant": 32, "vector_store": 2}`` → '32 assistants, 2 vector stores' (job page, command output)."""
    from migrator.core.templatetags.migrator_tags import count

    return ", ".join(count(n, kind.replace("_", " ")) for kind, n in counts.items()) or "nothing"
