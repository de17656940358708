"""Statuses are outcomes of domain actions: manual moves exist only for what is truly manual (with a reason),
and every claiming status (approved, validated, cutover approved, migrated) is refused as a click."""

import pytest

from migrator.core.actors import SYSTEM, system
from migrator.core.models import AuditEvent
from migrator.core.services import InvalidTransition, NotAllowed, ServiceError
from migrator.core.services.status import (
    allowed_assistant_transitions,
    apply_outcome,
    assistant_actions,
    change_assistant_status,
    change_flow_status,
    flow_progress,
    sync_assistant_with_flows,
)
from migrator.core.status import FlowProgress, Outcome
from migrator.core.status import FlowStatus as F
from migrator.core.status import MigrationStatus as S
from tests.factories import AssistantFactory, FlowFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("source", "target", "where"), [
    (S.PROMPT_DRAFTED, S.PROMPT_APPROVED, "approve a version"),
    (S.PROMPT_APPROVED, S.VALIDATING, "validation"),
    (S.VALIDATING, S.VALIDATED, "validation run passes"),
    (S.VALIDATED, S.CUTOVER_APPROVED, "support lead approves"),
    (S.CUTOVER_APPROVED, S.MIGRATED, "rollout reaches 100%"),
])
def test_claiming_statuses_are_never_a_click(admin_user, source, target, where):
    assistant = AssistantFactory(status=source)
    with pytest.raises(InvalidTransition, match=where):
        change_assistant_status(assistant_id=assistant.pk, to=target, actor=admin_user, reason="because")
    assistant.refresh_from_db()
    assert assistant.status == source and not AuditEvent.objects.exists()


@pytest.mark.parametrize("target", [F.VALIDATED, F.AWAITING_APPROVAL, F.APPROVED, F.ROLLING_OUT, F.MIGRATED])
def test_claiming_flow_statuses_are_never_a_click(admin_user, target):
    flow = FlowFactory(status=F.PLANNING)
    with pytest.raises(InvalidTransition):
        change_flow_status(flow_id=flow.pk, to=target, actor=admin_user, reason="because")
    flow.refresh_from_db()
    assert flow.status == F.PLANNING


def test_a_manual_move_needs_a_reason_and_is_recorded_and_audited(engineer):
    assistant = AssistantFactory(status=S.PROMPT_DRAFTED)
    with pytest.raises(ServiceError, match="reason is required"):
        change_assistant_status(assistant_id=assistant.pk, to=S.BLOCKED, actor=engineer, reason=" ")
    updated, changed = change_assistant_status(assistant_id=assistant.pk, to=S.BLOCKED, actor=engineer,
                                               reason="legal review")
    assert changed and updated.status == S.BLOCKED
    history = list(updated.status_changes.all())
    assert [(h.from_status, h.to_status, h.actor, h.reason) for h in history] == [
        (S.PROMPT_DRAFTED, S.BLOCKED, engineer, "legal review")]
    event = AuditEvent.objects.get(verb="migrator.assistant.status_changed")
    assert event.before == {"status": "prompt_drafted"} and event.after == {"status": "blocked"}
    assert event.actor_kind == "user"


def test_repeating_a_done_move_is_a_no_op(engineer):
    assistant = AssistantFactory(status=S.PROMPT_DRAFTED)
    change_assistant_status(assistant_id=assistant.pk, to=S.BLOCKED, actor=engineer, reason="x")
    _, changed = change_assistant_status(assistant_id=assistant.pk, to=S.BLOCKED, actor=engineer, reason="x")
    assert not changed and assistant.status_changes.count() == 1


def test_transition_not_in_table_is_refused_with_a_clear_message(admin_user):
    assistant = AssistantFactory(status=S.INVENTORIED)
    with pytest.raises(InvalidTransition, match="cannot go from Inventoried to Migrated"):
        change_assistant_status(assistant_id=assistant.pk, to=S.MIGRATED, actor=admin_user, reason="x")


def test_missing_permission_is_refused(support_lead):
    assistant = AssistantFactory(status=S.PROMPT_DRAFTED)
    with pytest.raises(NotAllowed):
        change_assistant_status(assistant_id=assistant.pk, to=S.RETIRED, actor=support_lead, reason="x")
    assert not AuditEvent.objects.exists()


def test_outcomes_move_statuses_and_the_audit_log_names_the_system_actor():
    assistant = AssistantFactory(status=S.PROMPT_APPROVED)
    flow = FlowFactory(assistant=assistant, status=F.PLANNING)
    job = system("job:7", "job #7")
    result = apply_outcome(outcome=Outcome.RUN_PASSED, actor=job, flow_id=flow.pk, evidence={"run_id": 1})
    assert result.flow_moved == (F.PLANNING, F.VALIDATED)
    assert result.assistant_moved == (S.PROMPT_APPROVED, S.VALIDATED)  # its only flow is validated
    event = AuditEvent.objects.filter(verb="migrator.flow.status_changed").get()
    assert event.actor is None and event.actor_kind == "system" and event.actor_label == "job #7"
    assert event.data["outcome"] == "validation.run_passed" and event.data["evidence"] == {"run_id": 1}
    # An outcome with no move from the current status changes nothing.
    assert apply_outcome(outcome=Outcome.CUTOVER_COMPLETED, actor=SYSTEM, flow_id=flow.pk).flow_moved is None


def test_anything_but_a_user_or_a_system_actor_is_refused():
    assistant = AssistantFactory(status=S.PROMPT_DRAFTED)
    for bogus in ("system", None, object()):
        with pytest.raises(NotAllowed):
            apply_outcome(outcome=Outcome.VERSION_APPROVED, actor=bogus, assistant_id=assistant.pk)


def test_the_panel_shows_disabled_actions_with_the_reason(product_owner, engineer, support_lead):
    validated = AssistantFactory(status=S.VALIDATED)
    lead = {c.target: c for c in assistant_actions(assistant=validated, user=support_lead)}
    assert not lead[S.CUTOVER_APPROVED].enabled and "support lead approves" in lead[S.CUTOVER_APPROVED].reason
    assert {t.target for t in allowed_assistant_transitions(assistant=validated, user=support_lead)} == set()
    eng_targets = {t.target for t in allowed_assistant_transitions(assistant=validated, user=engineer)}
    assert S.RETIRED in eng_targets and S.CUTOVER_APPROVED not in eng_targets
    po = {t.target for t in allowed_assistant_transitions(assistant=validated, user=product_owner)}
    assert S.BLOCKED in po and S.PROMPT_DRAFTED in po


def test_an_assistant_follows_its_flows_by_one_rule_and_says_it_in_words():
    assistant = AssistantFactory(status=S.PROMPT_APPROVED)
    first, second = (FlowFactory(assistant=assistant, status=F.PLANNING) for _ in range(2))
    apply_outcome(outcome=Outcome.RUN_PASSED, actor=SYSTEM, flow_id=first.pk)
    assistant.refresh_from_db()
    assert assistant.status == S.PROMPT_APPROVED  # the second flow is still planning
    apply_outcome(outcome=Outcome.RUN_PASSED, actor=SYSTEM, flow_id=second.pk)
    assistant.refresh_from_db()
    assert assistant.status == S.VALIDATED
    for flow in (first, second):
        for outcome in (Outcome.CUTOVER_REQUESTED, Outcome.CUTOVER_APPROVED, Outcome.CUTOVER_COMPLETED):
            apply_outcome(outcome=outcome, actor=SYSTEM, flow_id=flow.pk)
        assistant.refresh_from_db()
        assert assistant.status == (S.MIGRATED if flow == second else S.VALIDATED)
    progress = flow_progress([assistant.pk])[assistant.pk]
    assert progress.words() == "2 of 2 flows migrated"
    change = assistant.status_changes.first()
    assert "Its flows: 2 of 2 flows migrated." in change.reason
    # A new flow in planning holds it back, and the words say why.
    third = FlowFactory(assistant=assistant, status=F.PLANNING)
    assert sync_assistant_with_flows(assistant_id=assistant.pk, actor=SYSTEM) == (S.MIGRATED, S.PROMPT_APPROVED)
    assert flow_progress([assistant.pk])[assistant.pk].words() == "2 of 3 flows migrated; 1 planning"
    assert third.pk


def test_the_rule_in_words():
    p = FlowProgress(((F.MIGRATED, 2), (F.PLANNING, 1)), validating=1)
    assert p.words() == "2 of 3 flows migrated; 1 validating"
    assert p.assistant_status(S.PROMPT_APPROVED) == S.VALIDATING
    assert FlowProgress(((F.ROLLING_OUT, 1),)).words() == "0 of 1 flow migrated; 1 rolling out"
    assert FlowProgress(((F.ROLLING_OUT, 1),)).assistant_status(S.VALIDATED) == S.CUTOVER_APPROVED
    # Before approval, blocked or retired, the assistant keeps its own status; with no flows, too.
    for stored in (S.PROMPT_DRAFTED, S.BLOCKED, S.RETIRED):
        assert p.assistant_status(stored) == stored
    assert FlowProgress().assistant_status(S.VALIDATED) == S.VALIDATED
    assert FlowProgress().words() == "no flows yet"
