"""Background jobs: the Job row is the truth; Celery only carries the id.

- ``start_job`` creates the row and enqueues the task **after commit**, so a worker never sees a job the
  database does not have yet.
- ``execute_job`` runs the handler with a :class:`JobContext` that records progress, log lines and a
  heartbeat; an exception marks the job failed with a readable error.
- ``reap_stale_jobs`` marks jobs whose worker died as failed, so nothing stays "running" forever.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from migrator.core.actors import actor_for_job, system, user_or_none
from migrator.core.jobs import registry
from migrator.core.models import Job, JobStatus, WorkerHeartbeat
from migrator.core.models.job import JOB_FINISHED
from migrator.core.services import ServiceError, audit

logger = logging.getLogger(__name__)

_MAX_LOG_CHARS = 200_000


class JobCancelled(Exception):
    """Raised inside a handler when the user asked to cancel; the job ends as cancelled."""


class JobContext:
    """What a handler gets: the job's params and ways to report progress without touching the row itself."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.params: dict[str, Any] = dict(job.params)
        self._last_beat = timezone.now()

    @property
    def job_id(self) -> int:
        return self.job.pk

    @property
    def actor(self):
        """Who the job acts as: the person who started it, else the system actor ``job:<id>``."""
        return actor_for_job(self.job)

    def log(self, message: str) -> None:
        stamp = timezone.now().strftime("%H:%M:%S")
        line = f"[{stamp}] {message}\n"
        Job.objects.filter(pk=self.job.pk).update(log=Concat(F("log"), Value(line)), heartbeat_at=timezone.now())
        logger.info("job %s: %s", self.job.pk, message)

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Record progress; also checks for a cancel request so long loops stop promptly."""
        fields: dict[str, Any] = {"progress_done": max(0, done), "heartbeat_at": timezone.now()}
        if total is not None:
            fields["progress_total"] = max(0, total)
        if message is not None:
            fields["progress_message"] = message[:300]
        Job.objects.filter(pk=self.job.pk).update(**fields)
        if Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise JobCancelled("Cancelled at the user's request.")


def start_job(
    *,
    kind: str,
    actor,
    params: dict[str, Any] | None = None,
    subject: models.Model | None = None,
    subject_label: str = "",
) -> Job:
    """Create a queued job and enqueue it once the surrounding transaction commits."""
    if kind not in registry:
        raise ServiceError(f"Unknown job kind {kind!r}.")
    user = user_or_none(actor)
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            params=params or {},
            created_by=user,
            subject_type=subject._meta.label_lower if subject is not None else "",
            subject_id=str(subject.pk) if subject is not None else "",
            subject_label=(subject_label or (str(subject) if subject is not None else ""))[:300],
        )
        audit.record(actor=actor, verb="migrator.job.started", obj=job, data={"kind": kind})
        transaction.on_commit(lambda: enqueue(job.pk))
    return job


def enqueue(job_id: int) -> None:
    from migrator.core.tasks import run_job

    try:
        result = run_job.apply_async(args=[job_id])
    except Exception as exc:  # the broker is down: say so on the job instead of losing it silently
        logger.exception("could not enqueue job %s", job_id)
        _finish(job_id, JobStatus.FAILED, error=f"Could not reach the task broker: {exc}")
        return
    Job.objects.filter(pk=job_id, celery_task_id="").update(celery_task_id=result.id or "")


def _finish(job_id: int, status: str, *, error: str = "", result: dict[str, Any] | None = None) -> None:
    fields: dict[str, Any] = {"status": status, "finished_at": timezone.now(), "error": error[:10_000]}
    if result is not None:
        fields["result"] = result
    if status == JobStatus.SUCCEEDED:
        fields["progress_done"] = F("progress_total")
    Job.objects.filter(pk=job_id).exclude(status__in=JOB_FINISHED).update(**fields)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def execute_job(job_id: int) -> Job | None:
    """Run one job to the end. Safe to call twice: only a queued job starts (acks_late may redeliver)."""
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now(), worker=worker_name()
    )
    if not claimed:
        logger.info("job %s is not queued any more; skipping", job_id)
        return Job.objects.filter(pk=job_id).first()
    job = Job.objects.select_related("created_by").get(pk=job_id)
    handler = registry.get(job.kind)
    ctx = JobContext(job)
    try:
        if handler is None:
            raise ServiceError(f"No handler is registered for job kind {job.kind!r}.")
        result = handler.func(ctx) or {}
    except JobCancelled as exc:
        ctx.log(str(exc))
        _finish(job_id, JobStatus.CANCELLED, error=str(exc))
    except ServiceError as exc:
        ctx.log(f"Failed: {exc}")
        _finish(job_id, JobStatus.FAILED, error=str(exc))
    except Exception as exc:
        logger.exception("job %s crashed", job_id)
        ctx.log("Failed with an unexpected error:\n" + traceback.format_exc(limit=8)[-4000:])
        _finish(job_id, JobStatus.FAILED, error=f"Unexpected error: {type(exc).__name__}: {exc}")
    else:
        _finish(job_id, JobStatus.SUCCEEDED, result=result)
    job.refresh_from_db()
    audit.record(
        actor=actor_for_job(job),
        verb=f"migrator.job.{job.status}",
        obj=job,
        data={"kind": job.kind, "error": job.error[:500]} if job.error else {"kind": job.kind},
    )
    return job


def run_job_now(job: Job) -> Job | None:
    """Run a queued job in this process (management commands with --sync, tests)."""
    return execute_job(job.pk)


def request_cancel(*, job_id: int, actor) -> Job:
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.is_finished:
            raise ServiceError(f"Job #{job.pk} has already ended ({job.get_status_display().lower()}).")
        if job.created_by_id != getattr(actor, "pk", None) and not actor.has_perm("core.change_job"):
            from migrator.core.services import NotAllowed

            raise NotAllowed("Only the person who started a job, or an administrator, can cancel it.")
        if job.status == JobStatus.QUEUED:
            job.status = JobStatus.CANCELLED
            job.finished_at = timezone.now()
            job.error = "Cancelled before it started."
        job.cancel_requested = True
        job.save()
        audit.record(actor=actor, verb="migrator.job.cancel_requested", obj=job)
    return job


def beat(*, broker: str) -> None:
    """Called by each worker every WORKER_HEARTBEAT_SECONDS (see migrator.core.worker)."""
    now = timezone.now()
    name = worker_name()
    WorkerHeartbeat.objects.update_or_create(
        hostname=name, defaults={"pid": os.getpid(), "broker": broker, "last_seen": now},
        create_defaults={"pid": os.getpid(), "broker": broker, "last_seen": now, "started_at": now},
    )


def live_workers() -> list[WorkerHeartbeat]:
    cutoff = timezone.now() - timedelta(seconds=max(3 * settings.WORKER_HEARTBEAT_SECONDS, 30))
    return list(WorkerHeartbeat.objects.filter(last_seen__gte=cutoff))


def reap_stale_jobs() -> int:
    """Mark running jobs whose worker stopped heart-beating as failed. Returns how many were reaped."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    alive = {w.hostname for w in live_workers()}
    reaped = 0
    for job in Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=stale_before):
        if job.worker in alive and job.heartbeat_at and job.heartbeat_at > now - timedelta(hours=6):
            continue  # its worker is alive; a long quiet step is not a death
        updated = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            status=JobStatus.FAILED,
            finished_at=now,
            error=f"The worker running this job ({job.worker or 'unknown'}) stopped responding; "
            "the job was marked failed. Start it again.",
        )
        if updated:
            reaped += 1
            audit.record(actor=system("reaper", "the job reaper"), verb="migrator.job.reaped", obj=job, data={"worker": job.worker})
    return reaped
