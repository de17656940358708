"""Real Celery worker processes for integration tests.

``start_worker(...)`` runs ``celery -A migrator worker`` in a subprocess against a database (the test
database by default, so tests using it need ``transactional_db``; or any ``DATABASE_URL``) and stops it at
teardown. With ``queue=None`` the worker consumes the queue it derives from its database, exactly as
``make run`` does; the ``celery_worker_process`` fixture gives a worker a private queue instead, so
concurrent test runs on one machine never steal each other's tasks. Timeouts come in through ``env``
(e.g. ``{"JOB_STALE_SECONDS": "2"}``) so tests stay fast. The broker is Redis when it answers (as in CI),
otherwise the filesystem transport.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.db import connection

REPO = Path(__file__).resolve().parents[2]


@dataclass
class WorkerProcess:
    name: str
    queue: str | None  # None: the queue the worker derived from its database
    broker: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def consumed_queue(self) -> str:
        """The queue the worker says it consumes (from its start-up log line)."""
        for line in self.log().splitlines():
            if "consumes queue(s)" in line:
                return line.rsplit("consumes queue(s) ", 1)[1].strip()
        raise AssertionError(f"worker {self.name} never said which queue it consumes:\n{self.log()[-3000:]}")

    def children(self) -> list[int]:
        try:
            with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as fh:
                return [int(p) for p in fh.read().split()]
        except OSError:
            return []

    def kill(self) -> None:
        """SIGKILL the worker and its pool children, as an OOM killer would: no chance to clean up."""
        children = self.children()
        self.process.send_signal(signal.SIGKILL)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


def db_env(settings_dict: dict | None = None) -> dict[str, str]:
    db = settings_dict or connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return {"MIGRATOR_TEST_DB": str(db["NAME"]), "DATABASE_URL": f"sqlite:///{db['NAME']}"}
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or "5432"
    # The worker connects as this process does: sslmode, connect_timeout and the rest travel in the query.
    query = urlencode({k: v for k, v in (db.get("OPTIONS") or {}).items() if isinstance(v, str | int)})
    return {"DATABASE_URL": f"postgres://{auth}{host}:{port}/{db['NAME']}" + (f"?{query}" if query else "")}


def base_env(settings, extra: dict[str, str] | None = None) -> dict[str, str]:
    from migrator.celery import broker_choice

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "MIGRATOR_BROKER": broker_choice().kind,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "WORKER_HEARTBEAT_SECONDS": "1",
        "MIGRATOR_DATA_DIR": str(settings.DATA_DIR),
    }
    env.pop("CELERY_QUEUE", None)
    env.update(extra or {})
    return env


@pytest.fixture
def start_worker(transactional_db, tmp_path, settings) -> Iterator[Callable[..., WorkerProcess]]:
    from migrator.celery import broker_choice

    started: list[WorkerProcess] = []

    def start(*, queue: str | None = None, env: dict[str, str] | None = None, database: dict[str, str] | None = None,
              name: str | None = None, concurrency: int = 1,
              options: tuple[str, ...] = ("--without-gossip", "--without-mingle")) -> WorkerProcess:
        name = name or f"w{len(started)}-{uuid.uuid4().hex[:6]}"
        full_env = base_env(settings, {**(database or db_env()), **(env or {})})
        if queue:
            full_env["CELERY_QUEUE"] = queue
        log_path = tmp_path / f"worker-{name}.log"
        command = [sys.executable, "-m", "celery", "-A", "migrator", "worker", "-c", str(concurrency), "--pool",
                   "prefork", "-n", f"{name}@%h", *options, "-l", "INFO"]
        if queue:
            command += ["-Q", queue]
        with log_path.open("w") as log:
            process = subprocess.Popen(command, cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        worker = WorkerProcess(name=name, queue=queue, broker=broker_choice().kind, process=process, log_path=log_path)
        started.append(worker)
        # Start-up alone (Django, Celery, the pool) can take more than a minute on a loaded machine.
        deadline = time.monotonic() + 180
        while "consumes queue(s)" not in worker.log():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Celery worker {name} did not start:\n{worker.log()[-3000:]}")
            time.sleep(0.2)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.stop()


@pytest.fixture
def celery_worker_process(start_worker, settings) -> WorkerProcess:
    """One worker on a private queue; this process sends its jobs there (settings.CELERY_QUEUE)."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    settings.CELERY_QUEUE = queue
    return start_worker(queue=queue)
