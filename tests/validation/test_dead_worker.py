"""A validation run whose worker is SIGKILLed ends in a clear state once its job is reaped (issue 21, #5)."""

from __future__ import annotations

import time
import uuid

import pytest

from migrator.core.actors import SYSTEM
from migrator.core.models import Assistant, Job
from migrator.core.services.connections import save_connection
from migrator.core.services.jobs import reap_jobs
from migrator.validation.models import ValidationRun
from migrator.validation.services import runs as run_services
from migrator.validation.services import testsets as set_services
from tests.validation.recording import WEATHER_THREADS, WEATHER_TOOLS, record_and_import

pytestmark = [pytest.mark.worker]


def _wait(predicate, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_a_validation_run_whose_worker_was_killed_ends_could_not_run_and_the_assistant_stops_validating(
        sandbox_empty, make_sandbox, start_worker, settings):
    rec = record_and_import(sandbox_empty, name="Weather desk", instructions="You help with the weather.",
                            tools=WEATHER_TOOLS, threads=WEATHER_THREADS)
    slow = make_sandbox(latency_ms=400)
    connection = save_connection(actor=SYSTEM, name="Slow", base_url=slow.base_url, api_key=slow.api_key,
                                 is_sandbox=True)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    settings.CELERY_QUEUE = queue
    worker = start_worker(queue=queue)
    test_set = set_services.create_test_set(actor=SYSTEM, assistant_id=rec.assistant.pk, name="s")
    run = run_services.start_run(actor=SYSTEM, test_set_id=test_set.pk, connection_id=connection.pk, repeats=5,
                                 concurrency=1)
    _wait(lambda: ValidationRun.objects.get(pk=run.pk).cases_done >= 2)
    worker.kill()  # SIGKILL, worker and pool child: nothing finishes the run

    settings.JOB_STALE_SECONDS = 2
    _wait(lambda: reap_jobs().stale or Job.objects.get(pk=run.job_id).is_finished, timeout=30)
    job = Job.objects.get(pk=run.job_id)
    assert job.status == "failed"
    run = ValidationRun.objects.get(pk=run.pk)
    assert run.status == "error" and run.is_finished
    assert f"job #{job.pk} ended" in run.summary and "results so far are kept" in run.summary
    assert run.results.count() >= 1  # what was replayed and flushed before the kill is kept
    assert Assistant.objects.get(pk=rec.assistant.pk).status != "validating"
