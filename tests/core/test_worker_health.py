"""The worker's health check fails when its database or broker is unreachable (issue 21, findings 4 and 11)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugins.worker import base_env, db_env

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket is: nothing listens there


def _health(env: dict[str, str]) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, "manage.py", "worker_health", "--json"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


def test_worker_health_passes_only_while_database_and_broker_answer(settings):
    env = base_env(settings, db_env())
    code, report = _health(env)
    assert code == 0 and report["database"]["ok"] and report["broker"]["ok"]

    gone_db = {**env, "DATABASE_URL": f"postgres://nobody@127.0.0.1:{_closed_port()}/none"}
    code, report = _health(gone_db)
    assert code == 1 and not report["database"]["ok"] and "OperationalError" in report["database"]["detail"]

    gone_redis = {**env, "MIGRATOR_BROKER": "redis", "REDIS_URL": f"redis://127.0.0.1:{_closed_port()}/0"}
    code, report = _health(gone_redis)
    assert code == 1 and not report["broker"]["ok"] and "does not answer" in report["broker"]["detail"]
