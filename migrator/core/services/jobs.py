"""Background jobs: the Job row is the truth; a message carries its id, token and installation.

- ``start_job`` creates the row and enqueues it **after commit** on this installation's queue, with the
  time limits of its kind, so a worker never sees a job the database does not have yet.
- ``request_cancel`` cancels a queued job at once, or asks a running one to stop at its next progress call.
- ``reap_jobs`` (the worker's heartbeat loop, and ``manage.py reap_jobs`` when no worker runs) re-sends a
  queued job no worker picked up, then fails it with what to check; and fails a running job whose process
  stopped heart-beating. It never runs inside a web request.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Max, Q
from django.utils import timezone

from migrator.core.actors import require, system, user_or_none
from migrator.core.jobs.context import JobCancelled, JobContext
from migrator.core.jobs.queues import installation_id, job_queue
from migrator.core.jobs.registry import registry
from migrator.core.jobs.runner import append_log, execute_job, finish
from migrator.core.models import Job, JobStatus, WorkerHeartbeat
from migrator.core.services import ServiceError, audit

__all__ = [
    "JobCancelled", "JobContext", "ReapReport", "beat", "enqueue", "execute_job", "live_workers", "reap_jobs",
    "request_cancel", "run_job_now", "start_job",
]

logger = logging.getLogger(__name__)

REAPER = system("reaper", "the job reaper")
# How many times a queued job is sent before it is failed for want of a worker: the first send and one more.
MAX_SENDS = 2


def start_job(
    *,
    kind: str,
    actor,
    params: dict[str, Any] | None = None,
    subject: models.Model | None = None,
    subject_label: str = "",
) -> Job:
    """Create a queued job and enqueue it once the surrounding transaction commits."""
    handler = registry.get(kind)
    if handler is None:
        raise ServiceError(f"Unknown job kind {kind!r}.")
    soft, hard = handler.limits()
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            params=params or {},
            created_by=user_or_none(actor),
            subject_type=subject._meta.label_lower if subject is not None else "",
            subject_id=str(subject.pk) if subject is not None else "",
            subject_label=(subject_label or (str(subject) if subject is not None else ""))[:300],
            queue=job_queue(),
            soft_time_limit=soft,
            time_limit=hard,
            progress_unit=handler.unit,
        )
        audit.record(actor=actor, verb="migrator.job.started", obj=job, data={"kind": kind, "queue": job.queue})
        transaction.on_commit(lambda: enqueue(job.pk))
    return job


def enqueue(job_id: int) -> bool:
    """Send job ``job_id`` to its queue (again). Returns whether the broker took the message."""
    from migrator.core.tasks import run_job

    job = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).first()
    if job is None:
        return False
    queue = job.queue or job_queue()
    Job.objects.filter(pk=job_id).update(queue=queue, enqueued_at=timezone.now(),
                                         enqueue_count=models.F("enqueue_count") + 1)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        execute_job(job_id, token=str(job.token))
        return True
    try:
        message = run_job.apply_async(
            kwargs={"job_id": job_id, "token": str(job.token), "installation": installation_id()},
            queue=queue, soft_time_limit=job.soft_time_limit, time_limit=job.time_limit,
        )
    except Exception as exc:  # the broker is down: say so on the job instead of losing it silently
        logger.exception("could not enqueue job %s", job_id)
        finish(job_id, status=JobStatus.FAILED, actor=REAPER,
               error=f"Could not reach the task broker to queue this job: {exc}. Check REDIS_URL / MIGRATOR_BROKER "
               "and start the job again.")
        return False
    Job.objects.filter(pk=job_id, celery_task_id="").update(celery_task_id=message.id or "")
    return True


def run_job_now(job: Job) -> Job | None:
    """Run a queued job in this process (management commands with --sync, tests)."""
    return execute_job(job.pk, token=str(job.token))


def request_cancel(*, job_id: int, actor) -> Job:
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        raise ServiceError(f"Job #{job_id} does not exist.")
    if job.created_by_id is None or job.created_by_id != getattr(actor, "pk", None):
        require(actor, "core.change_job", action="cancel a job someone else started")
    if job.is_finished:
        raise ServiceError(f"Job #{job.pk} has already ended ({job.get_status_display().lower()}).")
    if not finish(job.pk, status=JobStatus.CANCELLED, where={"status": JobStatus.QUEUED}, actor=actor,
                  error="Cancelled before it started.", audit_verb="migrator.job.cancelled"):
        # Running (or it started just now): ask the handler to stop at its next progress report.
        if not Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(cancel_requested=True):
            job.refresh_from_db()
            raise ServiceError(f"Job #{job.pk} has already ended ({job.get_status_display().lower()}).")
        audit.record(actor=actor, verb="migrator.job.cancel_requested", obj=job)
    job.refresh_from_db()
    return job


# --- workers and the reaper -----------------------------------------------------------------------------


def beat(*, hostname: str, broker: str, queues: list[str]) -> None:
    """Called by each worker's main process every WORKER_HEARTBEAT_SECONDS (see migrator.core.worker)."""
    now = timezone.now()
    values = {"pid": os.getpid(), "broker": broker, "last_seen": now, "queues": ",".join(queues)[:500]}
    WorkerHeartbeat.objects.update_or_create(hostname=hostname, defaults=values,
                                             create_defaults={**values, "started_at": now})


def live_workers(queue: str | None = None) -> list[WorkerHeartbeat]:
    """Workers that sent a heartbeat recently; with ``queue``, only those consuming it."""
    cutoff = timezone.now() - timedelta(seconds=max(3 * settings.WORKER_HEARTBEAT_SECONDS, 30))
    workers = list(WorkerHeartbeat.objects.filter(last_seen__gte=cutoff))
    return [w for w in workers if queue in w.queue_names] if queue else workers


@dataclass
class ReapReport:
    resent: list[int] = field(default_factory=list)
    unclaimed: list[int] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.resent or self.unclaimed or self.stale)

    def summary(self) -> str:
        return (f"{len(self.resent)} queued job(s) sent again, {len(self.unclaimed)} failed for want of a worker, "
                f"{len(self.stale)} running job(s) whose process stopped failed")


def reap_jobs(*, now: datetime | None = None) -> ReapReport:
    """One pass of the reaper. Safe to run from several processes at once: every move is a compare-and-set."""
    now = now or timezone.now()
    report = ReapReport()
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return report
    _reap_unpicked(now, report)
    _reap_stale(now, report)
    return report


def _reap_unpicked(now: datetime, report: ReapReport) -> None:
    pickup = timedelta(seconds=settings.JOB_PICKUP_SECONDS)
    waiting = Job.objects.filter(status=JobStatus.QUEUED).filter(
        Q(enqueued_at__lt=now - pickup) | Q(enqueued_at__isnull=True, created_at__lt=now - pickup)
    )
    activity: dict[str, datetime | None] = {}
    for job in waiting:
        if job.enqueue_count < MAX_SENDS:
            # Sent once (or never: the process died between commit and send) and nobody took it: the
            # message may be lost (a worker killed while holding it). Send it once more; a duplicate is
            # harmless because only a queued job can be claimed.
            if Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED, enqueue_count=job.enqueue_count).update(
                enqueued_at=now
            ):
                append_log(job.pk, f"No worker picked this job up from queue {job.queue!r} within "
                                   f"{settings.JOB_PICKUP_SECONDS} s; sending it again.")
                audit.record(actor=REAPER, verb="migrator.job.resent", obj=job, data={"queue": job.queue})
                if enqueue(job.pk):
                    report.resent.append(job.pk)
            continue
        # Sent twice. If the queue is busy (a job on it started or heart-beat within the pickup time), the
        # job is waiting its turn, not lost: let it wait.
        if job.queue not in activity:
            activity[job.queue] = _last_activity(job.queue)
        last = max(filter(None, [job.enqueued_at, activity[job.queue]]), default=job.created_at)
        if now - last < pickup:
            continue
        error = (f"No worker picked this job up from queue {job.queue!r} within {settings.JOB_PICKUP_SECONDS} s, "
                 f"even after sending it again. Check that a worker is running for this installation "
                 f"(celery -A migrator worker -Q {job.queue}; make run starts one), that it uses the same "
                 "database and broker as the web app, and the System page. Then start the job again.")
        if finish(job.pk, status=JobStatus.FAILED, error=error, actor=REAPER, audit_verb="migrator.job.unclaimed",
                  where={"status": JobStatus.QUEUED, "enqueue_count": job.enqueue_count}):
            append_log(job.pk, error)
            report.unclaimed.append(job.pk)


def _last_activity(queue: str) -> datetime | None:
    figures = Job.objects.filter(queue=queue).aggregate(
        started=Max("started_at"), beat=Max("heartbeat_at", filter=Q(status=JobStatus.RUNNING))
    )
    return max(filter(None, figures.values()), default=None)


def _reap_stale(now: datetime, report: ReapReport) -> None:
    stale_before = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    # The process running a job heart-beats from a thread while the handler works, however quiet the handler
    # is; a heartbeat older than JOB_STALE_SECONDS means that process is gone.
    for job in Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=stale_before):
        if job.started_at and job.time_limit and now - job.started_at >= timedelta(seconds=job.time_limit):
            error = (f"The job hit its hard time limit of {job.time_limit} s; the process running it ({job.worker}) "
                     "was stopped. Split the work into smaller jobs, or raise the limit of this job kind.")
        else:
            error = (f"The process running this job ({job.worker or 'unknown'}) stopped sending heartbeats at "
                     f"{timezone.localtime(job.heartbeat_at):%Y-%m-%d %H:%M:%S %Z}: it was killed or its machine went away (out of "
                     "memory, a restart, a deploy). The job was marked failed; start it again.")
        if finish(job.pk, status=JobStatus.FAILED, error=error, actor=REAPER, audit_verb="migrator.job.reaped",
                  where={"heartbeat_at__lt": stale_before}):
            append_log(job.pk, error)
            report.stale.append(job.pk)

