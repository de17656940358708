"""The one Celery task: a thin door onto ``migrator.core.jobs.runner``. Found by ``app.autodiscover_tasks()``."""

from __future__ import annotations

import logging
import time

from celery import Task, shared_task
from celery.exceptions import Reject, TimeLimitExceeded
from django.db import close_old_connections

from migrator.core.jobs.runner import Delivery, deliver, fail_running

logger = logging.getLogger(__name__)

# How long a worker holds a message that is not its own before handing it back, so two installations that
# were configured onto one queue do not bounce it between them in a tight loop.
FOREIGN_BACKOFF_SECONDS = 1.0


class JobTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        """Runs in the worker's main process when the pool killed the child at the hard time limit, so the
        job ends failed with that reason instead of waiting for its heartbeat to go stale."""
        if not isinstance(exc, TimeLimitExceeded):
            return
        close_old_connections()  # the main process's connection may have idled out while the job ran
        job_id = kwargs.get("job_id", args[0] if args else None)
        if job_id is None:
            return
        limit = exc.args[0] if exc.args else "?"
        limit_text = f"{limit:g}" if isinstance(limit, int | float) else str(limit)
        fail_running(job_id, token=kwargs.get("token"),
                     error=f"The job hit its hard time limit of {limit_text} s; the process running it was killed. "
                     "Split the work into smaller jobs, or raise the limit of this job kind.")


@shared_task(bind=True, base=JobTask, name="migrator.run_job", acks_late=True, ignore_result=True)
def run_job(self, job_id: int, token: str | None = None, installation: str | None = None) -> None:
    """Run job ``job_id`` if this installation's database has it with ``token``; otherwise leave the message
    for its owner (reject with requeue: the broker keeps it, nothing acks it away)."""
    outcome = deliver(job_id=job_id, token=token, installation=installation,
                      worker=f"{self.request.hostname or 'worker'}")
    if outcome is Delivery.FOREIGN:
        time.sleep(FOREIGN_BACKOFF_SECONDS)
        raise Reject(f"job {job_id} belongs to installation {installation}", requeue=True)
