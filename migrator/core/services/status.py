"""The only place statuses change: atomic, permission-checked, audited, idempotent on repeat."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from migrator.core.models import Assistant, AssistantStatusChange, Flow, FlowStatusChange
from migrator.core.services import InvalidTransition, NotAllowed, audit
from migrator.core.status import (
    ASSISTANT_TRANSITIONS,
    FLOW_TRANSITIONS,
    FlowStatus,
    MigrationStatus,
    Transition,
    find_transition,
    transitions_from,
)


def allowed_assistant_transitions(*, assistant: Assistant, user) -> list[Transition]:
    return [t for t in transitions_from(ASSISTANT_TRANSITIONS, assistant.status) if user.has_perm(t.permission)]


def allowed_flow_transitions(*, flow: Flow, user) -> list[Transition]:
    return [t for t in transitions_from(FLOW_TRANSITIONS, flow.status) if user.has_perm(t.permission)]


def change_assistant_status(
    *, assistant_id: int, to: str, actor, reason: str = "", system: bool = False
) -> tuple[Assistant, bool]:
    """Move an assistant to ``to``. Returns (assistant, changed). Repeating a done change is a no-op.

    ``system=True`` is for automation (drift detection during import) and skips the permission check, but
    never the transitions table.
    """
    if to not in MigrationStatus.values:
        raise InvalidTransition(f"Unknown status {to!r}.")
    with transaction.atomic():
        assistant = Assistant.objects.select_for_update().get(pk=assistant_id)
        if assistant.status == to:
            return assistant, False
        transition = find_transition(ASSISTANT_TRANSITIONS, assistant.status, to)
        if transition is None:
            raise InvalidTransition(
                f"{assistant.display_name} cannot go from {MigrationStatus(assistant.status).label} "
                f"to {MigrationStatus(to).label}."
            )
        if not system and not actor.has_perm(transition.permission):
            raise NotAllowed(f"You need the '{transition.permission}' permission to {transition.label.lower()}.")
        before = assistant.status
        assistant.status = to
        assistant.status_changed_at = timezone.now()
        assistant.save(update_fields=["status", "status_changed_at", "updated_at"])
        user = actor if getattr(actor, "is_authenticated", False) else None
        AssistantStatusChange.objects.create(
            assistant=assistant, from_status=before, to_status=to, actor=user, reason=reason
        )
        audit.record(
            actor=actor,
            verb="migrator.assistant.status_changed",
            obj=assistant,
            before={"status": before},
            after={"status": to},
            data={"reason": reason} if reason else {},
        )
    return assistant, True


def change_flow_status(*, flow_id: int, to: str, actor, reason: str = "") -> tuple[Flow, bool]:
    if to not in FlowStatus.values:
        raise InvalidTransition(f"Unknown flow status {to!r}.")
    with transaction.atomic():
        flow = Flow.objects.select_for_update().select_related("assistant").get(pk=flow_id)
        if flow.status == to:
            return flow, False
        transition = find_transition(FLOW_TRANSITIONS, flow.status, to)
        if transition is None:
            raise InvalidTransition(
                f"Flow {flow.name} cannot go from {FlowStatus(flow.status).label} to {FlowStatus(to).label}."
            )
        if not actor.has_perm(transition.permission):
            raise NotAllowed(f"You need the '{transition.permission}' permission to {transition.label.lower()}.")
        if to == FlowStatus.MIGRATED and flow.assistant.status not in (
            MigrationStatus.CUTOVER_APPROVED,
            MigrationStatus.MIGRATED,
        ):
            raise InvalidTransition(
                f"Flow {flow.name} can be marked migrated only after a support lead approves the cutover of "
                f"{flow.assistant.display_name} (it is {MigrationStatus(flow.assistant.status).label})."
            )
        before = flow.status
        flow.status = to
        fields = ["status", "updated_at"]
        if to == FlowStatus.MIGRATED:
            flow.migrated_at = timezone.now()
            fields.append("migrated_at")
        flow.save(update_fields=fields)
        FlowStatusChange.objects.create(
            flow=flow, from_status=before, to_status=to, actor=actor if actor.is_authenticated else None,
            reason=reason,
        )
        audit.record(
            actor=actor, verb="migrator.flow.status_changed", obj=flow,
            before={"status": before}, after={"status": to}, data={"reason": reason} if reason else {},
        )
    return flow, True
