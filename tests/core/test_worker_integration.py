"""A real Celery worker process picks jobs up through the real broker (Redis in CI)."""

import os
import signal
import time

import pytest
from django.utils import timezone

from migrator.core.models import Job, JobStatus, WorkerHeartbeat
from migrator.core.services.jobs import reap_stale_jobs, start_job

pytestmark = [pytest.mark.worker]


def _wait_for(predicate, timeout: float = 30.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def test_job_started_in_a_transaction_is_run_by_a_real_worker(celery_worker_process, engineer):
    job = start_job(kind="core.selftest", actor=engineer, params={"steps": 4, "delay": 0.05})
    finished = _wait_for(lambda: Job.objects.filter(pk=job.pk, status__in=["succeeded", "failed"]).first())
    assert finished is not None, celery_worker_process.log()[-3000:]
    assert finished.status == JobStatus.SUCCEEDED, finished.error
    assert finished.progress_done == finished.progress_total == 4
    assert finished.started_at and finished.finished_at and finished.celery_task_id
    assert celery_worker_process.queue.split("-")[0] == "test"
    assert "Self-test finished 4 steps" in finished.log
    # The worker's heartbeat thread reports it alive.
    assert _wait_for(lambda: WorkerHeartbeat.objects.exists(), timeout=10)


def test_a_job_whose_worker_died_is_marked_failed(celery_worker_process, engineer, settings):
    job = start_job(kind="core.selftest", actor=engineer, params={"steps": 200, "delay": 0.5})
    running = _wait_for(lambda: Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).first())
    assert running is not None, celery_worker_process.log()[-3000:]
    # Kill the worker hard, as an OOM killer would: no chance to clean up.
    celery_worker_process.process.send_signal(signal.SIGKILL)
    for child in _children(celery_worker_process.process.pid):
        os.kill(child, signal.SIGKILL)
    celery_worker_process.process.wait(timeout=10)
    settings.JOB_STALE_SECONDS = 1
    WorkerHeartbeat.objects.update(last_seen=timezone.now() - timezone.timedelta(minutes=5))
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timezone.timedelta(minutes=5))
    assert reap_stale_jobs() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "stopped responding" in job.error


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []
