"""Three SIGKILLs of ``manage.py backfill``, then a re-run: every thread done with exactly its plan (issue 21, #5)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from migrator.backfill.models import ThreadBackfill, ThreadStatus
from tests.backfill.fixtures import assert_exactly_the_plan, connect, import_threads
from tests.plugins.worker import base_env, db_env

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _done() -> int:
    return ThreadBackfill.objects.filter(status=ThreadStatus.DONE).count()


def test_three_sigkills_of_the_backfill_command_then_a_rerun_finish_every_thread_exactly_once(
        make_sandbox, tmp_path, settings):
    box = make_sandbox(latency_ms=40)
    connect(box)
    # 1 to 60 turns: 4 to 180 items, so most threads are created and then appended to over several calls.
    import_threads(tmp_path, [(f"thread_cli{n:03d}", 1 + (n * 7) % 45) for n in range(30)])
    env = base_env(settings, {**db_env(), "BACKFILL_CALL_TIMEOUT_SECONDS": "5", "BACKFILL_LEASE_SECONDS": "600"})
    command = [sys.executable, "manage.py", "backfill", "--connection", "Target", "--all", "--json"]
    killed_in_flight = 0
    for kill in range(3):
        before = _done()
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while _done() < before + 3 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert process.poll() is None, f"run {kill + 1} ended before it could be killed; slow the sandbox down"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        killed_in_flight += ThreadBackfill.objects.filter(status__in=(ThreadStatus.CREATING,
                                                                      ThreadStatus.APPENDING)).count()
    assert killed_in_flight > 0, "no kill landed mid-thread"
    # The leases of the killed processes last 600 s: the re-run must see that their holders are gone.
    try:
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=150)
    except subprocess.TimeoutExpired:
        held = list(ThreadBackfill.objects.exclude(status=ThreadStatus.DONE).values_list(
            "status", "lease_token", "lease_until", "run_id"))
        raise AssertionError(f"the re-run did not finish; unfinished: {held}") from None
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert {t["status"] for t in report["threads"]} == {"done"} and len(report["threads"]) == 30
    rows = list(ThreadBackfill.objects.select_related("thread"))
    assert {r.status for r in rows} == {ThreadStatus.DONE}
    for row in rows:
        assert_exactly_the_plan(box, row)
