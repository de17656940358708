"""A real Celery worker process for integration tests.

The worker runs `celery -A migrator worker` in a subprocess against the test database (so tests using it
need ``transactional_db``) on a queue of its own, so concurrent test runs on one machine never steal each
other's tasks. The broker is Redis when it answers (as in CI), otherwise the filesystem transport.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

REPO = Path(__file__).resolve().parents[2]


@dataclass
class WorkerProcess:
    queue: str
    broker: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _db_env() -> dict[str, str]:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return {"MIGRATOR_TEST_DB": str(db["NAME"]), "DATABASE_URL": f"sqlite:///{db['NAME']}"}
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or "5432"
    return {"DATABASE_URL": f"postgres://{auth}{host}:{port}/{db['NAME']}"}


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path, settings) -> Iterator[WorkerProcess]:
    from migrator.celery import app, broker_choice

    queue = f"test-{uuid.uuid4().hex[:8]}"
    choice = broker_choice()
    env = {
        **os.environ,
        **_db_env(),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CELERY_QUEUE": queue,
        "MIGRATOR_BROKER": choice.kind,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "WORKER_HEARTBEAT_SECONDS": "1",
        "MIGRATOR_DATA_DIR": str(settings.DATA_DIR),
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "migrator", "worker", "-Q", queue, "-c", "1",
             "--pool", "prefork", "-n", f"{queue}@%h", "--without-gossip", "--without-mingle", "-l", "INFO"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    old_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue  # this process enqueues onto the worker's private queue
    settings.CELERY_QUEUE = queue
    worker = WorkerProcess(queue=queue, broker=choice.kind, process=process, log_path=log_path)
    try:
        deadline = time.monotonic() + 60
        while "ready." not in worker.log():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Celery worker did not start:\n{worker.log()[-3000:]}")
            time.sleep(0.2)
        yield worker
    finally:
        app.conf.task_default_queue = old_queue
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
