"""With a real worker running, the worker check names it and a queued job is picked up (queue ok)."""

from __future__ import annotations

import time

import pytest

from migrator.core import diagnostics as registry
from migrator.core.services.jobs import start_job

pytestmark = [pytest.mark.worker]


def test_live_worker_is_seen_by_the_system_checks(transactional_db, celery_worker_process, admin_user):
    deadline = time.monotonic() + 60
    while True:
        workers = {r.key: r for r in registry.run_system()}["workers"]
        if workers.status == "ok" or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert workers.status == "ok", celery_worker_process.log()[-3000:]
    assert any(w["worker"].split(":")[0] for w in workers.evidence["live"])
    job = start_job(kind="core.selftest", actor=admin_user, params={"steps": 1, "delay": 0})
    while not type(job).objects.get(pk=job.pk).is_finished:
        if time.monotonic() > deadline + 60:
            pytest.fail("the self-test job never finished")
        time.sleep(0.2)
    queue = {r.key: r for r in registry.run_system()}["queue"]
    assert queue.status == "ok" and queue.evidence["queued"] == 0
