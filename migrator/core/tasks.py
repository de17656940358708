"""The one Celery task: a thin door onto ``migrator.core.jobs.runner``. Found by ``app.autodiscover_tasks()``."""

from __future__ import annotations

import logging
import time
from typing import Any

from billiard.exceptions import WorkerLostError
from celery import shared_task
from celery.exceptions import Reject, TimeLimitExceeded
from celery.signals import task_failure
from django.db import connections
from django.utils import timezone

from migrator.core.jobs.runner import Delivery, deliver, fail_running
from migrator.core.models import Job

logger = logging.getLogger(__name__)

TASK_NAME = "migrator.run_job"
# How long a worker holds a message that is not its own before handing it back, so two installations that
# were configured onto one queue do not bounce it between them in a tight loop.
FOREIGN_BACKOFF_SECONDS = 1.0


@shared_task(bind=True, name=TASK_NAME, acks_late=True, ignore_result=True)
def run_job(self, job_id: int, token: str | None = None, installation: str | None = None) -> None:
    """Run job ``job_id`` if this installation's database has it with ``token``; otherwise leave the message
    for its owner (reject with requeue: the broker keeps it, nothing acks it away)."""
    outcome = deliver(job_id=job_id, token=token, installation=installation,
                      worker=f"{self.request.hostname or 'worker'}")
    if outcome is Delivery.FOREIGN:
        time.sleep(FOREIGN_BACKOFF_SECONDS)
        raise Reject(f"job {job_id} belongs to installation {installation}", requeue=True)


def _limit_text(seconds: Any) -> str:
    return f"{seconds:g}" if isinstance(seconds, int | float) else str(seconds)


@task_failure.connect
def _process_gone(sender: Any = None, exception: BaseException | None = None, args: Any = None,
                  kwargs: dict | None = None, **_: Any) -> None:
    """In the worker's main process: the pool killed the child at the hard time limit, or the child died
    (killed for memory, a segfault). End the job failed with that reason now, instead of waiting for its
    heartbeat to go stale."""
    if getattr(sender, "name", None) != TASK_NAME or not isinstance(exception, TimeLimitExceeded | WorkerLostError):
        return
    kwargs = kwargs or {}
    job_id = kwargs.get("job_id", args[0] if args else None)
    if job_id is None:
        return
    try:
        _fail_for_lost_process(job_id, kwargs.get("token"), exception)
    finally:
        # The pool forks the replacement child from this process next: it must not inherit an open
        # database connection (an SQLite handle shared across fork locks the database for the child).
        connections.close_all()


def _fail_for_lost_process(job_id: int, token: str | None, exception: BaseException) -> None:
    job = Job.objects.filter(pk=job_id).first()
    hit_limit = isinstance(exception, TimeLimitExceeded) or bool(
        job and job.started_at and job.time_limit
        and (timezone.now() - job.started_at).total_seconds() >= job.time_limit
    )
    if hit_limit:
        limit = exception.args[0] if isinstance(exception, TimeLimitExceeded) and exception.args else job.time_limit
        error = (f"The job hit its hard time limit of {_limit_text(limit)} s; the process running it was killed. "
                 "Split the work into smaller jobs, or raise the limit of this job kind.")
    else:
        error = (f"The process running this job ({job.worker if job else 'unknown'}) died: {exception}. It was "
                 "probably killed for using too much memory. Start the job again.")
    fail_running(job_id, token=token, error=error)
