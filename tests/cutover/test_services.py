"""Cutover services: requests on evidence, decisions, sticky ramps, rollback, voiding — and every refusal."""

from __future__ import annotations

import pytest

from migrator.core.actors import system
from migrator.core.models import AuditEvent
from migrator.core.services import NotAllowed, ServiceError
from migrator.core.status import FlowStatus
from migrator.cutover import services
from migrator.cutover.models import CutoverRequest, FlowRollout, RequestStatus, ServingChange
from migrator.cutover.serving import flow_config, on_candidate
from tests.cutover.helpers import evidence_passing, serve
from tests.factories import AssistantFactory, FlowFactory
from tests.flows.factories import make_version

pytestmark = pytest.mark.django_db

CONFIG = {"model": "gpt-5.4-mini", "instructions": "Help with orders.", "tools": []}
OTHERS = ("validation", "backfill", "diagnostics")


@pytest.fixture
def flow(db):
    assistant = AssistantFactory(legacy_id="asst_cut")
    make_version(assistant, CONFIG, approved=True)
    return FlowFactory(assistant=assistant, slug="orders", name="Orders", mode="stateless", status="validated")


@pytest.fixture
def second_lead(db):
    from django.contrib.auth.models import Group

    from migrator.core.roles import SUPPORT_LEAD
    from tests.factories import UserFactory

    user = UserFactory(username="lead2")
    user.groups.add(Group.objects.get(name=SUPPORT_LEAD))
    return user


def test_request_is_refused_naming_each_missing_piece_of_evidence(flow, engineer):
    with pytest.raises(services.EvidenceIncomplete) as refused:
        services.request_cutover(flow_id=flow.pk, actor=engineer)
    keys = {i.key for i in refused.value.missing}
    assert "validation" in keys  # no run yet: missing, never passed
    assert "backfill" not in keys  # a stateless flow reads no old threads from Conversations
    assert "Passing validation run" in str(refused.value)
    assert not CutoverRequest.objects.exists()


@pytest.mark.parametrize("broken", ["prompt", "mode", "validation"])
def test_request_is_refused_without_each_required_item(flow, engineer, broken):
    if broken == "prompt":
        make_version(flow.assistant, {**CONFIG, "instructions": "unapproved"}, approved=False)
        from migrator.prompts.models import PromptVersion

        PromptVersion.objects.filter(assistant=flow.assistant).update(approved_at=None)
    if broken == "mode":
        type(flow).objects.filter(pk=flow.pk).update(mode="")
    keys = [k for k in OTHERS if k != broken]
    with evidence_passing(*keys):
        if broken == "validation":
            with evidence_passing("validation", state="failed"), pytest.raises(services.EvidenceIncomplete) as refused:
                services.request_cutover(flow_id=flow.pk, actor=engineer)
        else:
            with pytest.raises(services.EvidenceIncomplete) as refused:
                services.request_cutover(flow_id=flow.pk, actor=engineer)
    assert [i.key for i in refused.value.missing] == [broken]


def test_a_first_cutover_serves_everyone_once_approved_and_the_flow_is_migrated(flow, engineer, support_lead):
    with evidence_passing(*OTHERS):
        request = services.request_cutover(flow_id=flow.pk, actor=engineer, note="ship it")
        flow.refresh_from_db()
        assert flow.status == FlowStatus.AWAITING_APPROVAL
        services.approve(request_id=request.pk, actor=support_lead, reason="evidence is complete")
    flow.refresh_from_db()
    request.refresh_from_db()
    assert flow.status == FlowStatus.MIGRATED and request.status == RequestStatus.COMPLETED
    assert flow_config(flow).body["version"]["number"] == 1
    change = ServingChange.objects.get(flow=flow)
    assert change.kind == "complete" and change.actor_label == "lead" and change.to_percent == 100
    assert AuditEvent.objects.filter(verb="migrator.cutover.approved", actor=support_lead).exists()


@pytest.mark.parametrize("who", ["requester", "engineer", "system", "product_owner"])
def test_only_another_support_lead_may_approve(flow, engineer, product_owner, support_lead, who):
    actor = {"requester": support_lead, "engineer": engineer, "system": system("api", "an API token"),
             "product_owner": product_owner}[who]
    support_lead.groups.add(*engineer.groups.all())  # the lead may request too, so "requester" is the lead
    with evidence_passing(*OTHERS):
        request = services.request_cutover(flow_id=flow.pk, actor=support_lead)
        with pytest.raises(NotAllowed):
            services.approve(request_id=request.pk, actor=actor, reason="looks fine")
    request.refresh_from_db()
    assert request.status == RequestStatus.AWAITING


def test_a_decision_needs_a_reason_and_decline_returns_the_flow(flow, engineer, support_lead):
    with evidence_passing(*OTHERS):
        request = services.request_cutover(flow_id=flow.pk, actor=engineer)
        with pytest.raises(ServiceError, match="reason is required"):
            services.approve(request_id=request.pk, actor=support_lead, reason="  ")
        services.decline(request_id=request.pk, actor=support_lead, reason="latency doubled")
    flow.refresh_from_db()
    assert flow.status == FlowStatus.VALIDATED
    assert CutoverRequest.objects.get().decision_reason == "latency doubled"


def test_an_edit_approved_afterwards_voids_the_request(flow, engineer, support_lead, product_owner):
    with evidence_passing(*OTHERS):
        request = services.request_cutover(flow_id=flow.pk, actor=engineer)
    from migrator.prompts import services as prompt_services

    v2 = make_version(flow.assistant, {**CONFIG, "instructions": "Help with orders, politely."})
    prompt_services.approve_version(version_id=v2.pk, actor=product_owner)
    request.refresh_from_db()
    flow.refresh_from_db()
    assert request.status == RequestStatus.VOID and "v2 was approved" in request.closed_reason
    assert flow.status == FlowStatus.PLANNING
    with pytest.raises(ServiceError):
        services.approve(request_id=request.pk, actor=support_lead, reason="too late")


def test_a_mode_change_voids_the_request(flow, engineer):
    from migrator.flows.services.flows import choose_mode

    with evidence_passing(*OTHERS):
        request = services.request_cutover(flow_id=flow.pk, actor=engineer)
    choose_mode(flow_id=flow.pk, actor=engineer, mode="previous_response", truncation="auto", store=True,
                reason="history is long")
    request.refresh_from_db()
    assert request.status == RequestStatus.VOID and "mode" in request.closed_reason


def _ramp_setup(flow, engineer, support_lead):
    v1 = flow.assistant.prompt_versions.get(number=1)
    serve(flow, v1)
    type(flow).objects.filter(pk=flow.pk).update(status="migrated")
    from migrator.prompts import services as prompt_services

    v2 = make_version(flow.assistant, {**CONFIG, "model": "gpt-5.6-sol"})
    v2.approved_at = v1.approved_at
    v2.save(update_fields=["approved_at"])
    from migrator.prompts.models import PromptLabel

    PromptLabel.objects.filter(assistant=flow.assistant, name="approved").update(version=v2)
    assert prompt_services  # the label is moved directly: set-up, not the behaviour under test
    with evidence_passing(*OTHERS):
        request = services.request_cutover(flow_id=flow.pk, actor=engineer)
        services.approve(request_id=request.pk, actor=support_lead, reason="validated on the successor")
    return v1, v2


def test_a_ramp_is_sticky_per_subject_and_within_tolerance(flow, engineer, support_lead):
    _ramp_setup(flow, engineer, support_lead)
    flow.refresh_from_db()
    assert flow.status == FlowStatus.APPROVED
    flow.assistant.refresh_from_db()
    assert flow.assistant.status != "migrated"
    services.ramp(flow_id=flow.pk, actor=support_lead, percent=10)
    flow.refresh_from_db()
    flow.assistant.refresh_from_db()
    assert flow.status == FlowStatus.ROLLING_OUT
    assert flow.assistant.status != "migrated"  # not at 100%: nothing claims "migrated"
    # The share is a property of the bucketing over many subjects; the served config is checked on a sample
    # against it (each flow_config builds a whole body, so 2,000 of them would only repeat the same check).
    subjects = [f"user-{i}" for i in range(2000)]
    share = sum(1 for s in subjects if on_candidate(flow.slug, s, 10)) / len(subjects)
    assert 0.075 <= share <= 0.125
    sample = subjects[:300]
    first = {s: flow_config(flow, subject=s).body["version"]["number"] for s in sample}
    assert first == {s: 2 if on_candidate(flow.slug, s, 10) else 1 for s in sample}
    assert 0 < sum(1 for n in first.values() if n == 2) < len(sample)
    assert flow_config(flow).body["version"]["number"] == 1  # no subject: production while ramping
    services.ramp(flow_id=flow.pk, actor=engineer, percent="50")
    second = {s: flow_config(flow, subject=s).body["version"]["number"] for s in sample}
    assert all(second[s] == 2 for s, n in first.items() if n == 2)  # nobody on the candidate goes back
    assert second == {s: 2 if on_candidate(flow.slug, s, 50) else 1 for s in sample}
    with pytest.raises(ServiceError, match="roll back"):
        services.ramp(flow_id=flow.pk, actor=engineer, percent=20)
    body = flow_config(flow, subject="user-1").body
    assert body["rollout"]["percent"] == 50.0 and body["rollout"]["candidate_version"] == 2


def test_rollback_restores_the_previous_version_for_everyone_at_once(flow, engineer, support_lead):
    _v1, v2 = _ramp_setup(flow, engineer, support_lead)
    services.ramp(flow_id=flow.pk, actor=support_lead, percent=50)
    with pytest.raises(ServiceError, match="reason"):
        services.rollback(flow_id=flow.pk, actor=support_lead, reason="")
    services.rollback(flow_id=flow.pk, actor=support_lead, reason="refunds answered wrongly")
    flow.refresh_from_db()
    assert flow.status == FlowStatus.MIGRATED
    assert {flow_config(flow, subject=f"u{i}").body["version"]["number"] for i in range(300)} == {1}
    assert CutoverRequest.objects.get(version=v2).status == RequestStatus.ROLLED_BACK
    assert ServingChange.objects.filter(flow=flow, kind="rollback").get().reason == "refunds answered wrongly"


def test_completing_then_rolling_back_returns_to_the_version_before(flow, engineer, support_lead):
    v1, v2 = _ramp_setup(flow, engineer, support_lead)
    services.ramp(flow_id=flow.pk, actor=support_lead, percent=100)
    flow.refresh_from_db()
    assert flow.status == FlowStatus.MIGRATED and FlowRollout.objects.get(flow=flow).production == v2
    services.rollback(flow_id=flow.pk, actor=support_lead, reason="successor model misbehaves")
    assert FlowRollout.objects.get(flow=flow).production == v1
    assert flow_config(flow).body["version"]["number"] == 1


def test_ramping_needs_permission_and_an_approved_request(flow, engineer, product_owner):
    with pytest.raises(NotAllowed):
        services.ramp(flow_id=flow.pk, actor=product_owner, percent=10)
    with pytest.raises(ServiceError, match="no approved cutover"):
        services.ramp(flow_id=flow.pk, actor=engineer, percent=10)
    for bad in ("0", "101", "abc", "nan"):
        with pytest.raises(ServiceError, match="percentage"):
            services.ramp(flow_id=flow.pk, actor=engineer, percent=bad)


def test_approving_a_stale_request_voids_it_for_good(flow, engineer, support_lead):
    with evidence_passing(*OTHERS):
        request = services.request_cutover(flow_id=flow.pk, actor=engineer)
    from migrator.prompts.models import PromptLabel

    v2 = make_version(flow.assistant, {**CONFIG, "instructions": "changed"})
    PromptLabel.objects.filter(assistant=flow.assistant, name="approved").update(version=v2)  # no signal: set-up
    with pytest.raises(ServiceError, match="is void"):
        services.approve(request_id=request.pk, actor=support_lead, reason="ok")
    request.refresh_from_db()
    assert request.status == RequestStatus.VOID  # committed, not rolled back with the refusal


def test_the_inbox_names_stages_and_modes_in_words(client, flow, engineer, support_lead):
    from django.urls import reverse

    from migrator.cutover.selectors import STAGE_LABELS, STAGES

    assert set(STAGE_LABELS) == set(STAGES)
    _ramp_setup(flow, engineer, support_lead)
    services.ramp(flow_id=flow.pk, actor=support_lead, percent=10)
    client.force_login(support_lead)
    html = client.get(reverse("cutover:inbox")).content.decode()
    assert ">Rolling out</span>" in html and "Rollingout" not in html
