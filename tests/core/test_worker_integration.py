"""Real Celery worker processes and the real broker (Redis in CI): jobs are never lost, stolen or run twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from base64 import b64decode

import pytest
from django.core.management import call_command

from migrator.core.jobs.queues import installation_id, job_queue
from migrator.core.models import Job, JobStatus, WorkerHeartbeat
from migrator.core.services.jobs import reap_jobs, start_job
from migrator.core.tasks import run_job
from tests.core.tool_test_load import start_tool_tests
from tests.plugins.worker import REPO, base_env

pytestmark = [pytest.mark.worker]

ENDED = [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED]


def _wait_for(predicate, timeout: float = 60.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def _reap_until(predicate, *, command: bool = False, timeout: float = 30.0):
    """Run the reaper (the service, or the management command as cron would) until ``predicate`` holds."""
    def step():
        call_command("reap_jobs") if command else reap_jobs()
        return predicate()

    return _wait_for(step, timeout=timeout, interval=0.5)


def _ended(job: Job, timeout: float = 60.0) -> Job | None:
    return _wait_for(lambda: Job.objects.filter(pk=job.pk, status__in=ENDED).first(), timeout)


def test_job_started_in_a_transaction_is_run_by_a_real_worker(celery_worker_process, engineer):
    job = start_job(kind="core.selftest", actor=engineer, params={"steps": 4, "delay": 0.05})
    finished = _ended(job)
    assert finished is not None, celery_worker_process.log()[-3000:]
    assert finished.status == JobStatus.SUCCEEDED, finished.error
    assert finished.progress_done == finished.progress_total == 4
    assert finished.started_at and finished.finished_at and finished.celery_task_id
    assert finished.queue == celery_worker_process.queue and finished.enqueue_count == 1
    assert finished.worker.startswith(f"{celery_worker_process.name}@")
    # The pid recorded is the process that ran the job (a pool child), not the worker's main process.
    assert finished.worker_pid and finished.worker_pid != celery_worker_process.process.pid
    assert "Self-test finished 4 steps" in finished.log
    heartbeat = _wait_for(lambda: WorkerHeartbeat.objects.filter(hostname__startswith=celery_worker_process.name).first())
    assert heartbeat and heartbeat.queue_names == [celery_worker_process.queue]


# --- two installations on one machine ------------------------------------------------------------------


_START_TOOL_TESTS = """
from migrator.core.jobs.queues import job_queue
from tests.core.tool_test_load import start_tool_tests
start_tool_tests(base_url={base_url!r}, api_key={api_key!r}, count={count})
print(job_queue())
"""


def _other_installation(tmp_path, settings) -> dict[str, str]:
    """A second installation: its own SQLite file, migrated, sharing this machine's broker."""
    folder = tmp_path / "other"
    folder.mkdir()
    database = {"DATABASE_URL": f"sqlite:///{folder / 'migrator.sqlite3'}", "MIGRATOR_TEST_DB": ""}
    env = base_env(settings, {**database, "MIGRATOR_DATA_DIR": str(folder)})
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env, check=True,
                   timeout=300)
    return database


def test_two_installations_sharing_a_broker_each_run_only_their_own_jobs(start_worker, settings, sandbox, tmp_path):
    """Two installations on one machine (own databases, own workers started on their derived default queue,
    one Redis) each run 20 tool tests: none lost, none taken by the other installation."""
    settings.CELERY_QUEUE = ""  # both installations use their derived default queue, as `make run` does
    other_db = _other_installation(tmp_path, settings)
    other_env = {**other_db, "MIGRATOR_DATA_DIR": str(tmp_path / "other")}
    ours = start_worker(name="ours")
    theirs = start_worker(name="theirs", database=other_db, env=other_env)
    # Web and worker of one installation derive the same queue; two installations derive different ones.
    assert ours.consumed_queue() == job_queue() == f"migrator-{installation_id()}"
    assert theirs.consumed_queue() != ours.consumed_queue()

    script = _START_TOOL_TESTS.format(base_url=sandbox.base_url, api_key=sandbox.api_key, count=20)
    started = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=REPO, timeout=300,
                             env=base_env(settings, other_env), capture_output=True, text=True)
    assert started.returncode == 0, started.stderr[-3000:]
    assert started.stdout.strip().splitlines()[-1] == theirs.consumed_queue()
    job_ids = start_tool_tests(base_url=sandbox.base_url, api_key=sandbox.api_key, count=20)

    other_file = other_db["DATABASE_URL"].removeprefix("sqlite:///")

    def their_rows() -> list[tuple]:
        with sqlite3.connect(other_file) as db:
            return db.execute("SELECT id, kind, status, worker, error FROM core_job ORDER BY id").fetchall()

    done = _wait_for(lambda: Job.objects.filter(pk__in=job_ids, status__in=ENDED).count() == 20
                     and all(row[2] in ENDED for row in their_rows()), timeout=600, interval=0.5)
    assert done, (ours.log()[-2000:], theirs.log()[-2000:])
    for job in Job.objects.filter(pk__in=job_ids):
        assert job.kind == "tools.test_tool"
        assert job.status == JobStatus.SUCCEEDED, job.error
        assert job.worker.startswith("ours@")
    rows = their_rows()
    assert len(rows) == 20
    for _id, kind, status, worker, error in rows:
        assert kind == "tools.test_tool"
        assert status == JobStatus.SUCCEEDED, error
        assert worker.startswith("theirs@")
    # Neither worker ever saw the other's messages.
    assert "leaving it for its owner" not in ours.log() + theirs.log()


# --- a worker that dies --------------------------------------------------------------------------------


def test_a_running_job_whose_worker_was_killed_is_failed_with_the_reason(start_worker, settings, engineer):
    settings.CELERY_QUEUE = queue = f"test-{uuid.uuid4().hex[:8]}"
    settings.JOB_STALE_SECONDS = 2
    worker = start_worker(queue=queue, env={"JOB_STALE_SECONDS": "2"})
    job = start_job(kind="core.selftest", actor=engineer, params={"steps": 200, "delay": 0.5})
    assert _wait_for(lambda: Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).exists()), worker.log()[-3000:]
    worker.kill()
    # No worker is alive: the reaper command (cron, or `--every`) fails it once its heartbeat is stale.
    reaped = _reap_until(lambda: Job.objects.filter(pk=job.pk, status=JobStatus.FAILED).first(), command=True)
    assert reaped is not None
    assert "stopped sending heartbeats" in reaped.error and worker.name in reaped.error


def test_a_job_enqueued_while_its_worker_is_killed_is_sent_again_then_failed(start_worker, settings, engineer):
    settings.CELERY_QUEUE = queue = f"test-{uuid.uuid4().hex[:8]}"
    settings.JOB_PICKUP_SECONDS = 1
    worker = start_worker(queue=queue)
    worker.kill()
    job = start_job(kind="core.selftest", actor=engineer)
    assert _wait_for(lambda: Job.objects.filter(pk=job.pk, enqueue_count=1).exists())
    # Nobody consumes the queue. The reaper sends it once more, then fails it with what to check.
    failed = _reap_until(lambda: Job.objects.filter(pk=job.pk, status=JobStatus.FAILED).first())
    assert failed is not None
    assert failed.enqueue_count == 2 and failed.started_at is None
    assert "No worker picked this job up" in failed.error and queue in failed.error
    assert f"celery -A migrator worker -Q {queue}" in failed.error


def test_a_job_sent_twice_runs_once_when_a_worker_comes_back(start_worker, settings, engineer):
    settings.CELERY_QUEUE = queue = f"test-{uuid.uuid4().hex[:8]}"
    settings.JOB_PICKUP_SECONDS = 1
    start_worker(queue=queue).kill()
    job = start_job(kind="core.selftest", actor=engineer, params={"steps": 2, "delay": 0.01})
    assert _wait_for(lambda: reap_jobs().resent, timeout=10, interval=0.3) == [job.pk]  # a second message
    # Two messages for one job are on the queue now. A new worker runs the job once and drops the duplicate.
    again = start_worker(queue=queue)
    finished = _ended(job)
    assert finished is not None and finished.status == JobStatus.SUCCEEDED, again.log()[-3000:]
    assert _wait_for(lambda: "is not queued any more" in again.log(), timeout=30), again.log()[-3000:]
    assert finished.log.count("Self-test finished") == 1


# --- heartbeats and time limits ------------------------------------------------------------------------


def test_a_long_quiet_job_outlives_the_stale_time_because_its_process_heart_beats(start_worker, settings, engineer):
    settings.CELERY_QUEUE = queue = f"test-{uuid.uuid4().hex[:8]}"
    settings.JOB_STALE_SECONDS = 2
    # The worker reaps every second with a 2-second stale time; the job computes for 6 s without progress.
    worker = start_worker(queue=queue, env={"JOB_STALE_SECONDS": "2"})
    job = start_job(kind="core.selftest", actor=engineer, params={"steps": 1, "delay": 0, "quiet_seconds": 6})
    finished = _ended(job)
    assert finished is not None, worker.log()[-3000:]
    assert finished.status == JobStatus.SUCCEEDED, finished.error
    assert finished.duration_seconds > 2 * settings.JOB_STALE_SECONDS
    assert "Quiet step of 6 s done" in finished.log


def test_a_job_past_its_soft_time_limit_fails_with_that_reason(celery_worker_process, engineer):
    job = start_job(kind="tests.sleepy", actor=engineer, params={"seconds": 15})
    assert (job.soft_time_limit, job.time_limit) == (1, 20)
    finished = _ended(job)
    assert finished is not None, celery_worker_process.log()[-3000:]
    assert finished.status == JobStatus.FAILED
    assert "hit its soft time limit of 1 s" in finished.error


def test_a_job_past_its_hard_time_limit_is_killed_and_fails_with_that_reason(celery_worker_process, engineer):
    job = start_job(kind="tests.stubborn", actor=engineer, params={"seconds": 30})
    assert (job.soft_time_limit, job.time_limit) == (None, 2)
    finished = _ended(job)
    assert finished is not None, celery_worker_process.log()[-3000:]
    assert finished.status == JobStatus.FAILED
    assert "hit its hard time limit of 2 s" in finished.error
    # The worker lives on and runs the next job.
    follow_up = start_job(kind="core.selftest", actor=engineer, params={"steps": 1, "delay": 0})
    assert (_ended(follow_up) or follow_up).status == JobStatus.SUCCEEDED, celery_worker_process.log()[-5000:]


# --- tokens --------------------------------------------------------------------------------------------


def test_a_message_with_a_token_this_database_does_not_have_is_left_on_the_queue(celery_worker_process, engineer):
    if celery_worker_process.broker != "redis":
        pytest.skip("reads the queue straight from Redis")
    import redis
    from django.conf import settings

    job = Job.objects.create(kind="core.selftest", created_by=engineer, queue=celery_worker_process.queue)
    stranger = str(uuid.uuid4())
    # As another installation sharing the queue name would send it: same job id, its own token.
    run_job.apply_async(kwargs={"job_id": job.pk, "token": stranger, "installation": "0123456789"},
                        queue=celery_worker_process.queue)
    assert _wait_for(lambda: "leaving it for its owner" in celery_worker_process.log(), timeout=30), \
        celery_worker_process.log()[-3000:]
    celery_worker_process.stop()
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.started_at is None
    # The message is still on the broker for its owner: not acked, not consumed.
    queued = redis.Redis.from_url(settings.REDIS_URL).lrange(celery_worker_process.queue, 0, -1)
    bodies = [json.loads(b64decode(json.loads(raw)["body"])) for raw in queued]
    assert [body[1]["token"] for body in bodies] == [stranger]


def test_a_job_whose_process_dies_under_a_live_worker_fails_at_once(celery_worker_process, engineer):
    job = start_job(kind="core.selftest", actor=engineer, params={"steps": 200, "delay": 0.5})
    running = _wait_for(lambda: Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).first())
    assert running is not None, celery_worker_process.log()[-3000:]
    os.kill(running.worker_pid, signal.SIGKILL)  # only the pool child, as the kernel's OOM killer would
    # JOB_STALE_SECONDS is 120 here: the main process reports the death itself, not the reaper later.
    failed = _ended(job, timeout=60)
    assert failed is not None and failed.status == JobStatus.FAILED, celery_worker_process.log()[-3000:]
    assert "died" in failed.error and running.worker in failed.error
    follow_up = start_job(kind="core.selftest", actor=engineer, params={"steps": 1, "delay": 0})
    assert (_ended(follow_up) or follow_up).status == JobStatus.SUCCEEDED
