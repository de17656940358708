"""Runs as Celery jobs in a real worker: progress while running, and cancel keeps what was replayed."""

from __future__ import annotations

import time

import pytest

from migrator.core.actors import SYSTEM
from migrator.core.models import Job
from migrator.core.services.connections import save_connection
from migrator.validation.models import ValidationRun
from migrator.validation.services import runs as run_services
from migrator.validation.services import testsets as set_services
from tests.validation.recording import WEATHER_THREADS, WEATHER_TOOLS, record_and_import

pytestmark = [pytest.mark.worker]


def _wait(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_run_job_reports_progress_and_can_be_cancelled(sandbox_empty, make_sandbox, celery_worker_process):
    rec = record_and_import(sandbox_empty, name="Weather desk", instructions="You help with the weather.",
                            tools=WEATHER_TOOLS, threads=WEATHER_THREADS)
    slow = make_sandbox(latency_ms=400)
    connection = save_connection(actor=SYSTEM, name="Slow", base_url=slow.base_url, api_key=slow.api_key,
                                 is_sandbox=True)
    test_set = set_services.create_test_set(actor=SYSTEM, assistant_id=rec.assistant.pk, name="s")
    run = run_services.start_run(actor=SYSTEM, test_set_id=test_set.pk, connection_id=connection.pk, repeats=5,
                                 concurrency=1)
    assert run.status == "queued" and run.job_id
    _wait(lambda: ValidationRun.objects.get(pk=run.pk).cases_done >= 2)
    job = Job.objects.get(pk=run.job_id)
    assert job.status == "running" and "passing" in job.progress_message
    run_services.cancel_run(actor=SYSTEM, run_id=run.pk)
    run = _wait(lambda: (r := ValidationRun.objects.get(pk=run.pk)).is_finished and r)
    assert run.status == "cancelled"
    assert 2 <= run.results.count() < run.cases_total  # what was replayed is kept
    assert _wait(lambda: Job.objects.get(pk=run.job_id).status == "cancelled")

    quick = run_services.start_run(actor=SYSTEM, test_set_id=test_set.pk, connection_id=rec.connection.pk)
    quick = _wait(lambda: (r := ValidationRun.objects.get(pk=quick.pk)).is_finished and r)
    assert quick.status == "passed" and quick.verdict == "pass"
    # The run's verdict is written by the job's body; the job row is marked succeeded after the body returns.
    job = _wait(lambda: (j := Job.objects.get(pk=quick.job_id)).status != "running" and j)
    assert job.status == "succeeded" and job.result["verdict"] == "pass" and "Replaying 7 case(s)" in job.log
