"""Guards that must fail a test when removed: approval re-checks every piece of evidence at that moment and
names what changed; no manual move reaches "migrated"; a check loosened since the last approved release is
shown to the approver with who loosened it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from migrator.core.services import ServiceError
from migrator.core.services.status import change_flow_status
from migrator.core.status import FlowStatus
from migrator.cutover import evidence as ev
from migrator.cutover import services
from migrator.cutover.models import FlowRollout, RequestStatus
from migrator.cutover.services import releases
from tests.cutover.helpers import evidence_passing
from tests.factories import AssistantFactory, FlowFactory
from tests.flows.factories import make_version

pytestmark = pytest.mark.django_db
CONFIG = {"model": "gpt-4.1", "instructions": "Help with orders.", "tools": []}
OTHERS = ("validation", "backfill", "diagnostics", "tools")


@pytest.fixture
def flow(db):
    assistant = AssistantFactory(legacy_id="asst_guard")
    make_version(assistant, CONFIG, approved=True)
    return FlowFactory(assistant=assistant, slug="guarded", name="Guarded", mode="stateless", status="validated")


def test_approval_re_checks_the_evidence_and_names_what_changed(flow, engineer, support_lead):
    with evidence_passing(*OTHERS):
        request = services.request_cutover(flow_id=flow.pk, actor=engineer)
    assert {i["release"] for i in request.evidence} == {request.release.hash}
    # Between request and approval the validation evidence turns red (a newer run failed, say).
    red = evidence_passing("validation", state=ev.State.FAILED)
    with evidence_passing("backfill", "diagnostics", "tools"), red, pytest.raises(services.EvidenceChanged) as refused:
        services.approve(request_id=request.pk, actor=support_lead, reason="looks fine")
    message = str(refused.value)
    assert "Validation" in message and "passed at request, failed now" in message
    assert request.release.hash[:12] in message
    request.refresh_from_db()
    assert request.status == RequestStatus.AWAITING
    assert not FlowRollout.objects.filter(flow=flow, production__isnull=False).exists()
    # Once it holds again, the same request is approved.
    with evidence_passing(*OTHERS):
        services.approve(request_id=request.pk, actor=support_lead, reason="holds again")
    assert FlowRollout.objects.get(flow=flow).production_release == request.release


@pytest.mark.parametrize("source", [s for s in FlowStatus.values if s != FlowStatus.MIGRATED])
def test_no_manual_move_reaches_migrated(admin_user, source):
    flow = FlowFactory(status=source)
    with pytest.raises(ServiceError):
        change_flow_status(flow_id=flow.pk, to=FlowStatus.MIGRATED, actor=admin_user, reason="just mark it")
    flow.refresh_from_db()
    assert flow.status == source


def _passed_run(flow, version, checks):
    """A finished, passing run of the flow's release judged with ``checks`` (set-up: the engine is tested
    elsewhere; here only what the evidence says about its checks matters)."""
    from django.utils import timezone

    from migrator.core.confighash import config_hash
    from migrator.validation.checks import resolve
    from migrator.validation.models import TestSet, ValidationRun

    test_set = TestSet.objects.create(assistant=flow.assistant, flow=flow, name="orders set")
    spec = releases.spec_for(flow, version)
    run = ValidationRun.objects.create(
        test_set=test_set, assistant=flow.assistant, flow=flow, prompt_version=version, config_label="v1",
        config=version.config, config_hash=config_hash(version.config), mode=spec.mode, store=spec.store,
        truncation=spec.truncation, release_hash=spec.hash, status="passed", verdict="pass",
        summary="23/23 cases pass", options={"checks": resolve(checks)}, finished_at=timezone.now())
    return test_set, run


def test_loosened_checks_show_red_to_the_approver_with_who_loosened_them(client, flow, engineer, support_lead):
    from migrator.validation.services.testsets import set_checks

    version = services.approved_version(flow)
    loose = {"text_similarity": {"enabled": False}, "completed": {"blocking": False}, "_case_threshold": {"value": 0}}
    test_set, _run = _passed_run(flow, version, loose)
    set_checks(actor=engineer, test_set_id=test_set.pk, checks=loose)
    with evidence_passing("backfill", "diagnostics", "tools"):
        request = services.request_cutover(flow_id=flow.pk, actor=engineer)
        item = next(i for i in request.evidence if i["key"] == "validation")
        assert item["state"] == "passed" and item["details"]["release"] == request.release.hash
        found = {(row["check"], row["what"]) for row in item["details"]["loosened"]}
        assert found == {("text_similarity", "switched off"), ("completed", "no longer blocking"),
                         ("_case_threshold", "0.7 → 0")}
        assert {row.get("by") for row in item["details"]["loosened"]} == {engineer.username}
        assert "Checks loosened since the default checks" in item["summary"]
        client.force_login(support_lead)
        page = client.get(reverse("cutover:request_detail", args=[request.pk])).content.decode()
    assert 'data-testid="loosened-validation"' in page and "switched off by eng" in page
    assert request.release.hash[:12] in page
    assert 'data-testid="accept-loosened"' in page  # the approver is asked why they are acceptable


def test_loosened_checks_block_approval_until_the_approver_says_why(client, flow, engineer, support_lead):
    """Red is red: the approval is refused on loosened checks (service, page, command) until the support lead
    gives a reason for accepting them, which is kept with the decision and in the audit event."""
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from migrator.core.models import AuditEvent
    from migrator.validation.services.testsets import set_checks

    version = services.approved_version(flow)
    loose = {"text_similarity": {"enabled": False}}
    test_set, _run = _passed_run(flow, version, loose)
    set_checks(actor=engineer, test_set_id=test_set.pk, checks=loose)
    with evidence_passing("backfill", "diagnostics", "tools"):
        request = services.request_cutover(flow_id=flow.pk, actor=engineer)
        with pytest.raises(services.LoosenedChecks) as refused:
            services.approve(request_id=request.pk, actor=support_lead, reason="evidence holds")
        assert "switched off (by eng" in str(refused.value) and "Text similarity" in str(refused.value)
        with pytest.raises(CommandError, match="loosened since the default checks"):
            call_command("cutover", "approve", "--flow", flow.slug, "--by", support_lead.username,
                         "--reason", "evidence holds", stdout=StringIO())
        client.force_login(support_lead)
        url = reverse("cutover:decide", args=[request.pk])
        answer = client.post(url, {"decision": "approve", "reason": "evidence holds", "confirmed": "yes"},
                             follow=True)
        assert "Not approved" in answer.content.decode()
        request.refresh_from_db()
        assert request.status == RequestStatus.AWAITING
        assert not FlowRollout.objects.filter(flow=flow, production__isnull=False).exists()
        # A reason for accepting them lets the approval through, through the page's confirmation.
        confirm = client.post(url, {"decision": "approve", "reason": "evidence holds",
                                    "accept_loosened": "similarity is noise for this flow; reviewed by hand"})
        assert b'name="accept_loosened" value="similarity is noise' in confirm.content
        client.post(url, {"decision": "approve", "reason": "evidence holds", "confirmed": "yes",
                          "accept_loosened": "similarity is noise for this flow; reviewed by hand"})
    request.refresh_from_db()
    assert request.status == RequestStatus.COMPLETED  # a first cutover serves everyone at once
    assert "loosened checks accepted: similarity is noise" in request.decision_reason
    event = AuditEvent.objects.filter(verb="migrator.cutover.approved").latest("id")
    accepted = event.data["loosened_accepted"]
    assert accepted["reason"].startswith("similarity is noise") and accepted["checks"][0]["check"] == "text_similarity"


# --- rolling back a first cutover --------------------------------------------------------------------------


def test_rolling_back_a_first_cutover_is_refused_unless_stop_serving_is_confirmed(client, flow, engineer,
                                                                                  support_lead):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from migrator.core.models import AuditEvent
    from migrator.cutover.serving import NotServable, flow_config

    with evidence_passing(*OTHERS):
        request = services.request_cutover(flow_id=flow.pk, actor=engineer)
        services.approve(request_id=request.pk, actor=support_lead, reason="first cutover")
    assert flow_config(flow).body["release"] == request.release.hash
    client.force_login(support_lead)
    page = client.get(reverse("cutover:flow", args=[flow.slug])).content.decode()
    assert 'data-testid="stop-serving-form"' in page and "409 not_cut_over" in page
    assert 'data-testid="rollback-form"' not in page
    # Without the confirmation: refused, saying why and what production would get; nothing changes.
    with pytest.raises(services.NoPreviousRelease, match="409 not_cut_over"):
        services.rollback(flow_id=flow.pk, actor=support_lead, reason="bad answers")
    with pytest.raises(CommandError, match="no previous release"):
        call_command("cutover", "rollback", "--flow", flow.slug, "--by", support_lead.username, "--reason", "bad")
    # The page asks first, saying what production will get, and offers only "stop serving".
    answer = client.post(reverse("cutover:rollback", args=[flow.slug]), {"reason": "bad answers"})
    confirm = answer.content.decode()
    assert "Stop serving Guarded?" in confirm and "409 not_cut_over" in confirm
    assert 'name="stop_serving" value="yes"' in confirm
    # Confirmed without "stop serving" (an old form, a hand-made POST): refused, nothing changes.
    answer = client.post(reverse("cutover:rollback", args=[flow.slug]),
                         {"reason": "bad answers", "confirmed": "yes"}, follow=True)
    assert "no previous release" in answer.content.decode()
    assert flow_config(flow).body["release"] == request.release.hash
    # Confirmed on the page: production gets 409, and the banner and the audit event say exactly that.
    answer = client.post(reverse("cutover:rollback", args=[flow.slug]),
                         {"reason": "bad answers", "stop_serving": "yes", "confirmed": "yes"}, follow=True)
    banner = answer.content.decode()
    assert "Stopped serving Guarded: production now gets 409 not_cut_over" in banner
    assert "previous version serves everyone again" not in banner
    with pytest.raises(NotServable) as refused:
        flow_config(flow)
    assert refused.value.code == "not_cut_over"
    event = AuditEvent.objects.get(verb="migrator.cutover.stopped_serving")
    assert event.data["production_gets"] == "409 not_cut_over"
    assert event.before["release"] == request.release.hash and event.after["release"] is None
    flow.refresh_from_db()
    assert flow.status == FlowStatus.VALIDATED
    out = StringIO()
    call_command("cutover", "status", "--json", stdout=out)
    assert '"production_release": null' in out.getvalue()
