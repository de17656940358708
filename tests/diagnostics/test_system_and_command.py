"""System checks, autodiscovery, ``manage.py diagnose`` (exact JSON contract and exit codes) and the pages."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from migrator.core import diagnostics as registry
from migrator.core.models import Job, JobStatus, WorkerHeartbeat
from tests.factories import ConnectionFactory, FlowFactory, JobFactory

pytestmark = pytest.mark.django_db


def _system() -> dict[str, registry.Result]:
    return {r.key: r for r in registry.run_system()}


def _alive():
    now = timezone.now()
    return WorkerHeartbeat.objects.create(hostname="w1:1", pid=1, broker="redis", started_at=now, last_seen=now)


def _diagnose(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("diagnose", *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code), out.getvalue()
    return 0, out.getvalue()


def test_checks_are_discovered_from_apps():
    keys = {c.key: c for c in registry.checks("system")}
    assert {"database", "broker", "workers", "queue", "stuck_jobs", "connections", "webhooks"} <= set(keys)
    assert keys["webhooks"].app == "migrator.webhooks"  # from migrator/webhooks/diagnostics.py
    assert len(registry.checks("flow")) >= 13


def test_workers_queue_and_stuck_jobs():
    results = _system()
    assert results["database"].status == "ok"
    assert results["workers"].status == "fail"
    assert results["queue"].status == "ok"
    job = JobFactory()
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=20))
    queue = _system()["queue"]
    assert queue.status == "fail" and queue.evidence["oldest"]["job"] == job.pk  # queued, nobody to run it
    _alive()
    results = _system()
    assert results["workers"].status == "ok" and results["workers"].evidence["live"][0]["worker"] == "w1:1"
    assert results["queue"].status == "warn" and "20 min" in results["queue"].summary
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, heartbeat_at=timezone.now() - timedelta(hours=1),
                                         worker="w1:1")
    stuck = _system()["stuck_jobs"]
    assert stuck.status == "fail" and stuck.fix_url == f"/jobs/{job.pk}/"


def test_connections_from_their_last_test():
    assert _system()["connections"].status == "warn"  # none configured
    conn = ConnectionFactory(name="prod")
    assert "Never tested: prod" in _system()["connections"].summary
    conn.answers = {"assistants": False, "responses": True, "conversations": True, "models": True}
    conn.last_tested_at = timezone.now()
    conn.last_test_error = "assistants: gone"  # expected since the shutdown: not a failure
    conn.save()
    assert _system()["connections"].status == "ok"
    conn.answers["responses"] = False
    conn.save()
    assert _system()["connections"].status == "fail"


def test_diagnose_json_contract_and_exit_codes():
    _alive()
    code, out = _diagnose("--json")
    body = json.loads(out)
    assert set(body) == {"system", "flows"} and body["flows"] == []
    for entry in body["system"]:
        assert set(entry) == {"key", "title", "status", "summary", "evidence", "fix_url"}
        assert entry["status"] in ("ok", "warn", "fail", "unknown")
    assert code == (1 if any(e["status"] == "fail" for e in body["system"]) else 0)
    if code == 0:
        assert {e["key"]: e["status"] for e in body["system"]}["connections"] == "warn"  # warnings do not fail

    FlowFactory(slug="checkout")
    other = FlowFactory(slug="support")
    code, out = _diagnose("--json", "--flow", "checkout")
    body = json.loads(out)
    assert code == 1  # no mode chosen fails
    assert [f["slug"] for f in body["flows"]] == ["checkout"]
    assert set(body["flows"][0]) == {"slug", "checks", "release", "production_release"}
    checks = {c["key"]: c for c in body["flows"][0]["checks"]}
    assert checks["history_mode"]["status"] == "fail" and checks["history_mode"]["fix_url"] == reverse("flows:detail", args=["checkout"]) + "#mode"
    assert set(checks["history_mode"]) == {"key", "title", "status", "summary", "evidence", "fix_url"}
    code, out = _diagnose("--json")
    assert [f["slug"] for f in json.loads(out)["flows"]] == ["checkout", "support"]
    code, text = _diagnose()
    assert "[FAIL] State mode vs thread statistics" in text and "fix: " + reverse("flows:detail", args=["checkout"]) + "#mode" in text
    assert text.rstrip().endswith("FAILED (at least one check fails)")
    with pytest.raises(CommandError, match="No flow with the slug 'nope'") as exc:
        call_command("diagnose", "--flow", "nope")
    assert exc.value.returncode == 2
    assert other.slug == "support"


def test_pages(client, support_lead, product_owner):
    flow = FlowFactory(slug="checkout")
    client.force_login(support_lead)
    page = client.get("/diagnostics/flows/checkout/")
    assert page.status_code == 200
    html = page.content.decode()
    for group in ("Outputs differ", "Conversation history feels broken", "Tool calls stop appearing",
                  "Old threads missing", "UX changes"):
        assert group in html
    assert 'data-testid="diag-history_mode" data-status="fail"' in html
    summary = client.get("/diagnostics/flows/checkout/summary/")
    assert summary.status_code == 200 and b"failing" in summary.content
    flow_page = client.get(flow.get_absolute_url()).content.decode()
    assert 'hx-get="/diagnostics/flows/checkout/summary/"' in flow_page
    system_page = client.get("/system/").content.decode()
    assert 'hx-get="/diagnostics/system/"' in system_page
    fragment = client.get("/diagnostics/system/", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and b'data-testid="diag-workers"' in fragment.content
    assert b"<html" not in fragment.content
    assert client.get("/diagnostics/system/").status_code == 200
    assert client.get("/diagnostics/flows/nope/").status_code == 404
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="nobody"))
    assert client.get("/diagnostics/flows/checkout/").status_code == 404  # flows are not visible to them
    assert product_owner.has_perm("core.view_flow")


def test_diagnostics_pages_survive_junk(client, admin_user):
    FlowFactory(slug="checkout")
    client.force_login(admin_user)
    junk = {"page": "99999999999999999999", "status": "\x00"}
    for url in ("/diagnostics/flows/checkout/", "/diagnostics/flows/checkout/summary/", "/diagnostics/system/"):
        assert client.get(url, junk).status_code == 200
    assert client.get("/diagnostics/flows/" + "x" * 300 + "/").status_code == 404
