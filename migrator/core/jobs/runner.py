"""Runs one job: check the message is ours, claim the job, run its handler under a heartbeat, record the end.

- A message names the job by id *and* token, plus the installation that sent it. A worker runs it only if
  its own database has that job with that token; a message from another installation is handed back to the
  broker untouched (the task rejects it with requeue), never acked away from its owner.
- Claiming is a compare-and-set (queued → running), so a redelivered or re-sent message never runs a job twice.
- While the handler runs, a thread *in the process running it* updates ``heartbeat_at``; the reaper fails a
  running job only once that heartbeat stops, so a long, quiet, live job is never reaped.
- Every status write goes through ``Job.objects.move`` (the transitions table).
"""

from __future__ import annotations

import enum
import logging
import os
import socket
import threading
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connections
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from migrator.core.actors import actor_for_job
from migrator.core.jobs.context import JobCancelled, JobContext
from migrator.core.jobs.queues import installation_id
from migrator.core.jobs.registry import registry
from migrator.core.models import Job, JobStatus
from migrator.core.openai_client import redact
from migrator.core.services import ServiceError, audit

logger = logging.getLogger(__name__)


class Delivery(enum.Enum):
    RAN = "ran"  # ours: run (or, for a duplicate message of a job that already started, skipped)
    GONE = "gone"  # addressed to this installation, but the job no longer exists here: drop it
    FOREIGN = "foreign"  # another installation's job: give the message back to the broker


def append_log(job_id: int, message: str) -> None:
    line = f"[{timezone.now():%H:%M:%S}] {message}\n"
    Job.objects.filter(pk=job_id).update(log=Concat(F("log"), Value(line)))


def deliver(*, job_id: int, token: str | None, installation: str | None, worker: str = "") -> Delivery:
    """Handle one message from the queue."""
    if not token:
        # Sent by a version without tokens. It cannot be proven ours; the reaper re-sends our queued jobs
        # with a token, so dropping it loses nothing.
        logger.warning("message for job %s carries no token; dropping it (the reaper re-sends queued jobs)", job_id)
        return Delivery.GONE
    if not Job.objects.filter(pk=job_id, token=token).exists():
        if installation == installation_id():
            logger.warning("job %s with token %s no longer exists in this database; dropping its message", job_id, token)
            return Delivery.GONE
        logger.warning("job %s (token %s) belongs to installation %s, not this one (%s); leaving it for its owner",
                       job_id, token, installation, installation_id())
        return Delivery.FOREIGN
    execute_job(job_id, token=token, worker=worker)
    return Delivery.RAN


class _Heartbeat:
    """A thread in the running process that says "still alive" while the handler works."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.interval = max(0.2, min(float(settings.WORKER_HEARTBEAT_SECONDS), settings.JOB_STALE_SECONDS / 4))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-{job_id}-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(heartbeat_at=timezone.now())
                except Exception:  # a locked or briefly unreachable database must not end the heartbeat
                    logger.warning("heartbeat of job %s failed", self.job_id, exc_info=True)
        finally:
            connections.close_all()  # this thread's own connections


def execute_job(job_id: int, *, token: str | None = None, worker: str = "") -> Job | None:
    """Run one job to the end. Only a queued job starts (with ``token``, only that exact job), so calling it
    twice for one job runs it once. Without a worker (``--sync`` commands, tests) it runs in this process."""
    now = timezone.now()
    claimed = Job.objects.move(
        job_id, JobStatus.RUNNING, where={"token": token} if token else None,
        started_at=now, heartbeat_at=now, worker=f"{worker or socket.gethostname()} pid {os.getpid()}"[:200],
        worker_host=socket.gethostname()[:200], worker_pid=os.getpid(), progress_message="",
    )
    if not claimed:
        logger.info("job %s is not queued any more; skipping this message", job_id)
        return Job.objects.filter(pk=job_id).first()
    job = Job.objects.select_related("created_by").get(pk=job_id)
    handler = registry.get(job.kind)
    ctx = JobContext(job)
    outcome: dict[str, Any]
    with _Heartbeat(job_id):
        try:
            if handler is None:
                raise ServiceError(f"No handler is registered for job kind {job.kind!r}.")
            result = handler.func(ctx) or {}
        except JobCancelled as exc:
            ctx.log(str(exc))
            outcome = {"status": JobStatus.CANCELLED, "error": str(exc)}
        except SoftTimeLimitExceeded:
            error = (f"The job hit its soft time limit of {job.soft_time_limit} s and was stopped. "
                     "Split the work into smaller jobs, or raise the limit of this job kind.")
            ctx.log(error)
            outcome = {"status": JobStatus.FAILED, "error": error}
        except ServiceError as exc:
            ctx.log(f"Failed: {exc}")
            outcome = {"status": JobStatus.FAILED, "error": str(exc)}
        except Exception as exc:
            logger.exception("job %s crashed", job_id)
            # The traceback (server paths, code) goes to the server log only; the job page says what failed.
            ctx.log(f"Failed with an unexpected error ({type(exc).__name__}); the details are in the server log.")
            outcome = {"status": JobStatus.FAILED,
                       "error": f"Unexpected error: {type(exc).__name__}: {redact(str(exc))[:500]}"}
        else:
            outcome = {"status": JobStatus.SUCCEEDED, "result": result}
    finish(job_id, handler_ended=True, **outcome)
    job.refresh_from_db()
    return job


def finish(job_id: int, *, status: str, error: str = "", result: dict[str, Any] | None = None,
           where: dict[str, Any] | None = None, audit_verb: str = "", actor=None, handler_ended: bool = False) -> bool:
    """End a job (running or queued, as the table allows) and audit it. Returns whether this call ended it;
    a job something else ended first keeps that ending. A job failed or cancelled from outside its handler
    (``handler_ended`` False) gets its kind's ``on_abandoned`` hook."""
    fields: dict[str, Any] = {"error": error[:10_000], "progress_message": ""}
    if result is not None:
        fields["result"] = result
    if status == JobStatus.SUCCEEDED:
        fields["progress_done"] = F("progress_total")
    if not Job.objects.move(job_id, status, where=where, **fields):
        logger.info("job %s had already ended; keeping that ending over %s", job_id, status)
        return False
    job = Job.objects.select_related("created_by").get(pk=job_id)
    data: dict[str, Any] = {"kind": job.kind}
    if job.error:
        data["error"] = job.error[:500]
    audit.record(actor=actor or actor_for_job(job), verb=audit_verb or f"migrator.job.{status}", obj=job, data=data)
    if not handler_ended and status in (JobStatus.FAILED, JobStatus.CANCELLED):
        kind = registry.get(job.kind)
        if kind is not None and kind.on_abandoned is not None:
            try:
                kind.on_abandoned(job)
            except Exception:  # the job's own ending stands; what its hook could not tidy is in the log
                logger.exception("the on_abandoned hook of job %s (%s) failed", job_id, job.kind)
    return True


def fail_running(job_id: int, *, token: str | None, error: str) -> bool:
    """Fail a running job from outside its process (its process was killed). The token guards against
    failing a different job that reuses the id in another database."""
    if not finish(job_id, status=JobStatus.FAILED, error=error, where={"token": token} if token else None):
        return False
    append_log(job_id, error)
    return True
