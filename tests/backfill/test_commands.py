"""The command-line contract: `connection add`, `backfill` (dry run, run, re-run) and `backfill rollback`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from migrator.backfill.models import ConnectionRateLimit, ThreadBackfill, ThreadStatus
from migrator.core.models import Connection
from migrator.core.ratebudget import RateBudget
from tests.backfill.fixtures import assert_exactly_the_plan, import_threads
from tests.plugins.worker import REPO, db_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def manage(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command in its own process, as automation runs it."""
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **db_env(), "DJANGO_SETTINGS_MODULE": "tests.settings", **(env or {})},
                          timeout=300)


def test_connection_add_creates_then_updates(sandbox_empty):
    made = manage("connection", "add", "Prod", "--base-url", sandbox_empty.base_url, "--api-key-env", "TARGET_KEY",
                  "--rpm", "600", env={"TARGET_KEY": sandbox_empty.api_key})
    assert made.returncode == 0, made.stderr
    connection = Connection.objects.get(name="Prod")
    assert connection.get_api_key() == sandbox_empty.api_key and connection.base_url == sandbox_empty.base_url
    assert ConnectionRateLimit.objects.get(connection=connection).rpm == 600
    limits = RateBudget.for_connection(connection).limits()
    assert (limits.rpm, limits.source) == (600, "connection")  # every worker paces itself by it
    again = manage("connection", "add", "Prod", "--base-url", "https://example.test/v1", "--api-key-env",
                   "TARGET_KEY", env={"TARGET_KEY": "sk-other"})
    assert again.returncode == 0 and "Updated" in again.stdout
    assert Connection.objects.get(name="Prod").base_url == "https://example.test/v1"
    missing = manage("connection", "add", "Prod", "--base-url", "https://x.test/v1", "--api-key-env", "NOPE_UNSET")
    assert missing.returncode == 2 and "NOPE_UNSET" in missing.stderr


def test_dry_run_then_run_then_rerun_then_rollback(make_sandbox, tmp_path):
    box = make_sandbox(lost_rate=0.1, seed_random=2)
    import_threads(tmp_path, [("thread_cli00001", 12), ("thread_cli00002", 3)])
    import_threads(tmp_path, [("thread_other0001", 2)], flow="other-web")
    assert manage("connection", "add", "Target", "--base-url", box.base_url, "--api-key-env", "K",
                  env={"K": box.api_key}).returncode == 0
    client = box.client(max_retries=5)

    dry = manage("backfill", "--connection", "Target", "--flow", "billing-web", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["dry_run"] is True and plan["totals"]["writes"] == 0
    assert [(t["thread_id"], t["status"], t["items"], t["conversation_id"]) for t in plan["threads"]] == [
        ("thread_cli00001", "done", 32, None), ("thread_cli00002", "done", 8, None)]
    assert {t["status"] for t in plan["threads"]} <= {"done", "skipped", "failed"}  # the contract's statuses
    assert plan["threads"][0]["plan"][0]["type"] == "message"
    assert not ThreadBackfill.objects.exists()  # a dry run keeps nothing and sends nothing

    ids = tmp_path / "ids.txt"
    ids.write_text("thread_id\nthread_cli00001\nthread_cli00002\nthread_missing01\n")
    ran = manage("backfill", "--connection", "Target", "--thread-ids", str(ids), "--json")
    report = json.loads(ran.stdout)
    assert ran.returncode == 1  # the missing thread fails; the others are done
    by_id = {t["thread_id"]: t for t in report["threads"]}
    assert set(by_id["thread_cli00001"]) == {"thread_id", "conversation_id", "status", "items", "dropped"}
    assert by_id["thread_cli00001"]["status"] == "done" and by_id["thread_cli00001"]["items"] == 32
    assert by_id["thread_missing01"]["status"] == "failed" and "inventory" in by_id["thread_missing01"]["reason"]
    assert report["totals"]["done"] == 2 and report["totals"]["failed"] == 1
    for row in ThreadBackfill.objects.select_related("thread"):
        assert_exactly_the_plan(box, row)

    rerun = manage("backfill", "--connection", "Target", "--flow", "billing-web", "--json")
    again = json.loads(rerun.stdout)
    assert rerun.returncode == 0
    assert again["totals"]["writes"] == 0 and again["totals"]["calls"] == 0
    assert [t["conversation_id"] for t in again["threads"]] == [by_id["thread_cli00001"]["conversation_id"],
                                                                by_id["thread_cli00002"]["conversation_id"]]

    conv = by_id["thread_cli00002"]["conversation_id"]
    undone = manage("backfill", "rollback", "--connection", "Target", "--thread-ids", str(ids), "--json")
    result = json.loads(undone.stdout)
    assert undone.returncode == 0, undone.stderr
    assert {t["thread_id"]: t["status"] for t in result["threads"]} == {
        "thread_cli00001": "rolled_back", "thread_cli00002": "rolled_back"}
    assert result["totals"]["items_deleted"] == 40
    with pytest.raises(Exception, match=r"404|not found|No conversation"):
        client.conversations.retrieve(conv)
    assert set(ThreadBackfill.objects.values_list("status", flat=True)) == {ThreadStatus.ROLLED_BACK}

    bad = manage("backfill", "--connection", "Target", "--flow", "billing-web", "--since", "2025-13-01")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr
    none = manage("backfill", "--connection", "Nope", "--all")
    assert none.returncode == 2 and "connection add" in none.stderr
