"""A worker outlives Redis restarts: a Redis of the test's own (never the shared one) is restarted under a
real Celery worker while it runs a job, and the same worker process then picks up and finishes the next job."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from migrator.core.models import Job, JobStatus
from migrator.core.services.jobs import start_job

pytestmark = [pytest.mark.worker]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class OwnRedis:
    """A redis-server of the test's own, with its data on disk so a restart keeps the queues (as compose's
    ``--appendonly yes`` does)."""

    folder: Path
    port: int = field(default_factory=_free_port)
    process: subprocess.Popen | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.starts += 1
        log = (self.folder / f"redis-{self.starts}.log").open("w")
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.folder), "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"redis-server did not start: {self.log()[-2000:]}")
            time.sleep(0.05)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: Redis writes its data and exits, as `docker restart` does
            self.process.wait(timeout=20)

    def restart(self, down_for: float) -> None:
        self.stop()
        time.sleep(down_for)  # clients see refused connections meanwhile, not only a dropped socket
        self.start()

    def log(self) -> str:
        path = self.folder / f"redis-{self.starts}.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def own_redis(tmp_path) -> Iterator[OwnRedis]:
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    folder = tmp_path / "redis"
    folder.mkdir()
    server = OwnRedis(folder=folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def jobs_sent_to(own_redis, settings) -> Iterator[None]:
    """This process sends its jobs to ``own_redis`` too. Celery builds its connection and producer pools lazily
    from broker_url, but takes them from kombu's process-wide registry (``kombu.pools``), keyed by broker: the
    usual broker's pools are only detached here, never closed (the tests after this one keep using them), and
    the pools built for ``own_redis`` are closed and taken out of the registry afterwards."""
    from kombu import pools

    from migrator.celery import app

    def detach() -> None:
        app._pool = None
        app.amqp._producer_pool = None

    previous = app.conf.broker_url
    detach()
    app.conf.broker_url = own_redis.url
    try:
        yield
    finally:
        own = app._pool
        if own is not None:
            for group in (pools.producers, pools.connections):
                for key, pool in list(group.items()):
                    if pool is own or getattr(pool, "connections", None) is own:
                        pool.force_close_all()
                        dict.__delitem__(group, key)  # the registry's keys are already hashed
        detach()
        app.conf.broker_url = previous


def _job_status(job: Job) -> str:
    return Job.objects.values_list("status", flat=True).get(pk=job.pk)


def _wait(predicate, timeout: float, what: str, worker) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{worker.log()[-4000:]}")
        time.sleep(0.2)


def test_two_redis_restarts_during_a_job_leave_a_live_worker_that_runs_the_next_job(
        own_redis, start_worker, jobs_sent_to, settings, tmp_path, admin_user):
    settings.CELERY_QUEUE = "restarts"
    # Started as compose and `make run` start it: two pool processes, gossip, mingle and remote control on
    # (their fanout subscriptions are one of the ways a dead Redis is noticed first).
    worker = start_worker(queue="restarts", env={"MIGRATOR_BROKER": "redis", "REDIS_URL": own_redis.url},
                          concurrency=2, options=())
    go_on = tmp_path / "go-on"
    long_job = start_job(kind="tests.until_file", actor=admin_user, params={"path": str(go_on)})
    _wait(lambda: _job_status(long_job) == JobStatus.RUNNING, 60, "the long job to start", worker)

    def connected() -> int:
        return worker.log().count("Connected to ")

    def gone() -> bool:  # (a worker that crashed waits for its running job before it exits)
        return worker.process.poll() is not None or "Unrecoverable error" in worker.log()

    def settled() -> int:  # the consumer is back in its loop once mingle has looked for neighbours
        return worker.log().count("mingle: all alone")

    for restart in (1, 2):
        before = connected(), settled()
        own_redis.restart(down_for=1)
        # The worker notices and reconnects while the job runs on; the second restart hits the connection the
        # first one made.
        _wait(lambda before=before: gone() or (connected() > before[0] and settled() > before[1]), 90,
              f"the worker to reconnect after restart {restart}", worker)
        assert not gone(), f"the worker crashed after restart {restart}:\n{worker.log()[-6000:]}"
        assert _job_status(long_job) == JobStatus.RUNNING

    go_on.touch()  # the job ends, and is acknowledged on a channel whose connection died twice since
    _wait(lambda: gone() or _job_status(long_job) != JobStatus.RUNNING, 60, "the long job to end", worker)
    assert _job_status(long_job) == JobStatus.SUCCEEDED, Job.objects.get(pk=long_job.pk).error

    next_job = start_job(kind="core.selftest", actor=admin_user, params={"steps": 2, "delay": 0})
    _wait(lambda: gone() or _job_status(next_job) == JobStatus.SUCCEEDED, 90, "the next job to run", worker)
    assert not gone(), f"the worker crashed:\n{worker.log()[-6000:]}"
    assert Job.objects.get(pk=next_job.pk).worker.startswith(f"{worker.name}@")
