"""Extra real Celery workers on a test's private queue (the plugin's fixture starts one), and SIGKILL."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.plugins.worker import REPO, WorkerProcess, _db_env


def start_worker(queue: str, log_path: Path, data_dir: Path, extra_env: dict[str, str] | None = None) -> WorkerProcess:
    from migrator.celery import broker_choice

    env = {**os.environ, **_db_env(), "DJANGO_SETTINGS_MODULE": "tests.settings", "CELERY_QUEUE": queue,
           "MIGRATOR_BROKER": broker_choice().kind, "CELERY_TASK_ALWAYS_EAGER": "false",
           "WORKER_HEARTBEAT_SECONDS": "1", "MIGRATOR_DATA_DIR": str(data_dir), **(extra_env or {})}
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "migrator", "worker", "-Q", queue, "-c", "1", "--pool", "prefork",
         "-n", f"{queue}-{log_path.stem}@%h", "--without-gossip", "--without-mingle", "-l", "INFO"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    worker = WorkerProcess(queue=queue, broker=broker_choice().kind, process=process, log_path=log_path)
    deadline = time.monotonic() + 60
    while "ready." not in worker.log():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker did not start:\n{worker.log()[-3000:]}")
        time.sleep(0.2)
    return worker


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def sigkill(worker: WorkerProcess) -> None:
    """SIGKILL the worker and its pool processes at once: no shutdown, no acknowledgement, no cleanup."""
    pids = [*children(worker.process.pid), worker.process.pid]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    worker.process.wait(timeout=10)
