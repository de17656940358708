"""The migration receipt: downloads from the flow page, exports and verifies by command, names every release
the flow served and who did what, and fails verification after any byte of it is changed."""

from __future__ import annotations

import io
import json
import zipfile
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from migrator.cutover import services
from migrator.receipts import services as receipts
from tests.cutover.helpers import evidence_passing
from tests.factories import AssistantFactory, FlowFactory
from tests.flows.factories import make_version

pytestmark = pytest.mark.django_db
CONFIG = {"model": "gpt-4.1", "instructions": "Help with orders.", "tools": []}
OTHERS = ("validation", "backfill", "diagnostics", "tools")


@pytest.fixture
def migrated(engineer, support_lead):
    """A first cutover, then a re-cutover to a successor ramped to 10%, then rolled back."""
    assistant = AssistantFactory(legacy_id="asst_receipt")
    make_version(assistant, CONFIG, approved=True)
    flow = FlowFactory(assistant=assistant, slug="receipted", name="Receipted", mode="stateless", status="validated")
    with evidence_passing(*OTHERS):
        first = services.request_cutover(flow_id=flow.pk, actor=engineer)
        services.approve(request_id=first.pk, actor=support_lead, reason="first cutover on evidence")
        make_version(assistant, {**CONFIG, "model": "gpt-5.4-mini"}, approved=True)
        second = services.request_cutover(flow_id=flow.pk, actor=engineer)
        services.approve(request_id=second.pk, actor=support_lead, reason="successor validated")
        services.ramp(flow_id=flow.pk, actor=support_lead, percent=10, reason="canary")
    services.rollback(flow_id=flow.pk, actor=support_lead, reason="latency regressed")
    return {"flow": flow, "first": first, "second": second}


def test_the_receipt_names_every_release_and_who_did_what(client, migrated, support_lead):
    client.force_login(support_lead)
    page = client.get(reverse("flows:detail", args=["receipted"])).content.decode()
    assert reverse("receipts:download", args=["receipted"]) in page
    answer = client.get(reverse("receipts:download", args=["receipted"]))
    assert answer.status_code == 200 and answer["Content-Type"] == "application/zip"
    assert "migration-receipt-receipted.zip" in answer["Content-Disposition"]
    bundle = answer.content
    assert receipts.verify(bundle).ok
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        data = json.loads(archive.read("receipt.json"))
        html = archive.read("receipt.html").decode()
    first, second = migrated["first"].release.hash, migrated["second"].release.hash
    assert {r["hash"] for r in data["releases"]} == {first, second}
    assert data["serving_now"]["production_release"] == first
    kinds = [(c["kind"], c["by"], c["reason"]) for c in data["serving_changes"]]
    assert kinds == [("complete", "lead", "First cutover: nothing was served before."),
                     ("ramp", "lead", "canary"), ("rollback", "lead", "latency regressed")]
    decided = {q["id"]: (q["decided_by"], q["decision_reason"], q["requested_by"]) for q in data["cutover_requests"]}
    assert decided[migrated["second"].pk] == ("lead", "successor validated", "eng")
    assert all(e["release"] for q in data["cutover_requests"] for e in q["evidence"])
    assert data["field_ledger"] and data["receipt"]["key_id"] == receipts.key_id()
    assert first in html and "latency regressed" in html and "successor validated" in html


def test_export_and_verify_by_command_and_any_changed_byte_fails(migrated, tmp_path, capsys):
    out = tmp_path / "receipt.zip"
    call_command("receipt", "export", "--flow", "receipted", "--out", str(out), stdout=StringIO())
    call_command("receipt", "verify", str(out), stdout=StringIO())  # valid: returns, exit 0
    original = out.read_bytes()
    # Every byte position, one at a time (a sample across the whole file plus the signature trailer).
    positions = sorted(set(range(0, len(original), max(1, len(original) // 200)))
                       | set(range(len(original) - receipts.TRAILER_LENGTH - 30, len(original))))
    for position in positions:
        changed = bytearray(original)
        changed[position] ^= 0x01
        assert not receipts.verify(bytes(changed)).ok, f"a change at byte {position} went unnoticed"
    tampered = tmp_path / "tampered.zip"
    changed = bytearray(original)
    changed[len(original) // 2] ^= 0x20
    tampered.write_bytes(bytes(changed))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        call_command("receipt", "verify", str(tampered))
    assert exited.value.code == 1
    assert "INVALID" in capsys.readouterr().err
    (tmp_path / "short.zip").write_bytes(b"PK")
    with pytest.raises(SystemExit):
        call_command("receipt", "verify", str(tmp_path / "short.zip"))


def test_a_receipt_of_another_installation_says_so(migrated, settings):
    bundle = receipts.export(flow_id=migrated["flow"].pk, actor=migrated["first"].requested_by)
    settings.SECRET_KEY = "another installation's secret key, long enough for tests"
    verdict = receipts.verify(bundle)
    assert not verdict.ok and "another installation's key" in verdict.reason


def test_the_receipt_key_is_its_own_setting(migrated, settings):
    """With MIGRATOR_RECEIPT_KEY set, receipts are signed with it: rotating SECRET_KEY leaves them valid, another
    receipt key does not. Unset (DEBUG/testing only), the key is derived from SECRET_KEY."""
    derived = receipts.key_id()
    settings.MIGRATOR_RECEIPT_KEY = "receipt-key-" + "0123456789abcdefghijklmnopqrstuvwxyz"
    assert receipts.key_id() != derived
    bundle = receipts.export(flow_id=migrated["flow"].pk, actor=migrated["first"].requested_by)
    settings.SECRET_KEY = "a rotated secret key, long enough for tests and unrelated to receipts"
    assert receipts.verify(bundle).ok
    settings.MIGRATOR_RECEIPT_KEY = "another-receipt-key-" + "0123456789abcdefghijklmnopqrstuvwxyz"
    verdict = receipts.verify(bundle)
    assert not verdict.ok and "another installation's key" in verdict.reason


def test_check_deploy_wants_a_strong_receipt_key_of_its_own(settings):
    from migrator.core.checks import receipt_key_is_strong

    settings.SECRET_KEY = "s" * 10 + "-0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
    for weak, why in (("", "not set"), ("short", "only 5 characters"), (settings.SECRET_KEY, "same as SECRET_KEY"),
                      ("a" * 40, "fewer than 10 distinct")):
        settings.MIGRATOR_RECEIPT_KEY = weak
        [error] = receipt_key_is_strong()
        assert error.id == "migrator.E002" and why in error.msg, error.msg
    settings.MIGRATOR_RECEIPT_KEY = "receipt-" + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
    assert receipt_key_is_strong() == []
