"""Webhooks with a real Celery worker: retries after 500s happen on the worker's own schedule, and a task the
broker hands out again (or a second job for the same delivery) never delivers twice."""

from __future__ import annotations

import time

import pytest

from migrator.core.actors import system
from migrator.core.models import Job, JobStatus
from migrator.core.services.jobs import start_job
from migrator.webhooks import services, signing
from migrator.webhooks.models import Delivery, DeliveryStatus

pytestmark = [pytest.mark.worker]

ACTOR = system("command:cutover", "the cutover command")


@pytest.fixture
def fast_retry_worker(monkeypatch, request):
    # The worker process reads these at start-up: one-second backoff base, sweep every second.
    monkeypatch.setenv("WEBHOOK_RETRY_BASE_SECONDS", "1")
    monkeypatch.setenv("WEBHOOK_RETRY_MAX_SECONDS", "2")
    monkeypatch.setenv("WEBHOOK_SWEEP_SECONDS", "1")
    return request.getfixturevalue("celery_worker_process")


def _wait(predicate, worker, what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out waiting for {what}. Worker log:\n{worker.log()[-4000:]}")
        time.sleep(0.2)


def test_worker_retries_after_500s_then_delivers_once(transactional_db, fast_retry_worker, engineer, receiver):
    worker = fast_retry_worker
    receiver.statuses = [500, 500]
    _endpoint, secret = services.create_endpoint(actor=engineer, name="relay", url=receiver.url,
                                                events=["cutover.ramped"])
    assert services.emit(event="cutover.ramped", payload={"flow": "checkout", "percent": 10}, actor=ACTOR) == 1
    delivery = Delivery.objects.get()

    def done() -> bool:
        delivery.refresh_from_db()
        return delivery.status != DeliveryStatus.PENDING

    _wait(done, worker, "the delivery to succeed after two 500s")
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.SUCCEEDED, 3, 200)
    assert [a.response_code for a in delivery.attempt_log.all()] == [500, 500, 200]
    assert receiver.count() == 3
    for r in receiver.requests:
        signing.verify(secret, r.body, r.headers[signing.SIGNATURE_HEADER])
        assert r.headers[signing.EVENT_ID_HEADER] == delivery.event.event_id
    jobs = list(Job.objects.filter(kind=services.JOB_KIND).order_by("id"))
    assert [j.status for j in jobs] == [JobStatus.FAILED, JobStatus.FAILED, JobStatus.SUCCEEDED]
    assert len({j.worker for j in jobs}) == 1 and jobs[0].worker

    # The broker hands every task out again (acks_late redelivery) and a stray job names the delivery too.
    from migrator.core.tasks import run_job

    for job in jobs:
        run_job.apply_async(args=[job.pk])
    stray = start_job(kind=services.JOB_KIND, actor=ACTOR, params={"delivery_id": delivery.pk})
    _wait(lambda: Job.objects.get(pk=stray.pk).is_finished, worker, "the stray job to finish")
    stray.refresh_from_db()
    assert stray.status == JobStatus.SUCCEEDED and stray.result["outcome"] == "skipped"
    time.sleep(1.5)  # give the re-sent tasks time to (not) act; the assertion below is what matters
    assert receiver.count() == 3
    assert Delivery.objects.count() == 1
