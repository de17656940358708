"""The only place statuses change: atomic, audited, with a history row; idempotent on repeat.

Two doors, one table each (``migrator.core.status``):

- :func:`apply_outcome` is called by the domain service that performed an action (approving a version, a
  validation run passing, a support lead approving a cutover, a rollout reaching 100%). The action's own
  service has already checked the evidence and permissions; the table says where the outcome moves a status.
- :func:`change_assistant_status` / :func:`change_flow_status` are the *manual* moves (block, unblock,
  retire, restore, send back to review), each needing its permission and a reason. They refuse an outcome
  move with the reason and the place where the action that makes it lives: there are no free clicks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from migrator.core.actors import check_actor, label_of, may, user_or_none
from migrator.core.models import Assistant, Flow
from migrator.core.services import InvalidTransition, NotAllowed, ServiceError, audit
from migrator.core.status import (
    ASSISTANT_TRANSITIONS,
    FLOW_TRANSITIONS,
    FOLLOWS_FLOWS,
    FlowProgress,
    FlowStatus,
    MigrationStatus,
    Outcome,
    Transition,
    move,
    outcome_move,
    transitions_from,
)


@dataclass(frozen=True)
class ActionChoice:
    """A status action as the panel shows it: enabled, or disabled with the reason."""

    transition: Transition
    enabled: bool
    reason: str = ""

    @property
    def label(self) -> str:
        return self.transition.label

    @property
    def target(self) -> str:
        return self.transition.target

    @property
    def style(self) -> str:
        return self.transition.style


def _choices(table: tuple[Transition, ...], status: str, actor) -> list[ActionChoice]:
    out: list[ActionChoice] = []
    seen: set[str] = set()
    for t in transitions_from(table, status):
        if t.manual:
            if may(actor, t.permission):
                out.append(ActionChoice(t, True))
            else:
                out.append(ActionChoice(t, False, f"Needs the '{t.permission}' permission."))
        elif t.target not in seen and t.outcome not in (Outcome.EVIDENCE_STALE, Outcome.VERSION_EDITED, Outcome.RULE):
            # Outcome moves are shown disabled so people see where the next step comes from.
            out.append(ActionChoice(t, False, f"Happens when {t.via}."))
        seen.add(t.target)
    return out


def assistant_actions(*, assistant: Assistant, user) -> list[ActionChoice]:
    return _choices(ASSISTANT_TRANSITIONS, assistant.status, user)


def flow_actions(*, flow: Flow, user) -> list[ActionChoice]:
    return _choices(FLOW_TRANSITIONS, flow.status, user)


def allowed_assistant_transitions(*, assistant: Assistant, user) -> list[Transition]:
    return [c.transition for c in assistant_actions(assistant=assistant, user=user) if c.enabled]


def allowed_flow_transitions(*, flow: Flow, user) -> list[Transition]:
    return [c.transition for c in flow_actions(flow=flow, user=user) if c.enabled]


def _manual_transition(table: tuple[Transition, ...], source: str, to: str, what: str, labels) -> Transition:
    moves = [t for t in table if t.source == source and t.target == to]
    manual = next((t for t in moves if t.manual), None)
    if manual:
        return manual
    if moves:
        raise InvalidTransition(
            f"{what} cannot be moved to {labels(to).label} by hand: that happens when {moves[0].via}."
        )
    raise InvalidTransition(f"{what} cannot go from {labels(source).label} to {labels(to).label}.")


def _move_assistant(assistant: Assistant, to: str, *, actor, reason: str, outcome: str, evidence: dict) -> None:
    before = assistant.status
    now = timezone.now()
    # The row is locked (select_for_update) by every caller, so the compare-and-set cannot lose.
    move(assistant, to, status_changed_at=now, updated_at=now,
         history={"actor": user_or_none(actor), "reason": reason[:2000]})
    data: dict[str, Any] = {"reason": reason} if reason else {}
    if outcome:
        data["outcome"] = outcome
    if evidence:
        data["evidence"] = evidence
    audit.record(actor=actor, verb="migrator.assistant.status_changed", obj=assistant,
                 before={"status": before}, after={"status": to}, data=data)


def _move_flow(flow: Flow, to: str, *, actor, reason: str, outcome: str, evidence: dict) -> None:
    before = flow.status
    now = timezone.now()
    fields = {"updated_at": now, **({"migrated_at": now} if to == FlowStatus.MIGRATED else {})}
    move(flow, to, history={"actor": user_or_none(actor), "reason": reason[:2000]}, **fields)  # locked by callers
    data: dict[str, Any] = {"reason": reason} if reason else {}
    if outcome:
        data["outcome"] = outcome
    if evidence:
        data["evidence"] = evidence
    audit.record(actor=actor, verb="migrator.flow.status_changed", obj=flow,
                 before={"status": before}, after={"status": to}, data=data)


def change_assistant_status(*, assistant_id: int, to: str, actor, reason: str = "") -> tuple[Assistant, bool]:
    """A manual move (block, unblock, retire, restore, send back to review). Needs a reason."""
    check_actor(actor)
    if to not in MigrationStatus.values:
        raise InvalidTransition(f"Unknown status {to!r}.")
    reason = (reason or "").strip()
    with transaction.atomic():
        assistant = Assistant.objects.select_for_update().get(pk=assistant_id)
        if assistant.status == to:
            return assistant, False
        transition = _manual_transition(ASSISTANT_TRANSITIONS, assistant.status, to, assistant.display_name,
                                        MigrationStatus)
        if not may(actor, transition.permission):
            raise NotAllowed(f"You need the '{transition.permission}' permission to {transition.label.lower()}.")
        if not reason:
            raise ServiceError(f"Say why you {transition.label.lower()} {assistant.display_name}: a reason is required.")
        _move_assistant(assistant, to, actor=actor, reason=reason, outcome="", evidence={})
    return assistant, True


def change_flow_status(*, flow_id: int, to: str, actor, reason: str = "") -> tuple[Flow, bool]:
    """A manual move of a flow (block, unblock). Needs its permission and a reason."""
    check_actor(actor)
    # Permission first: someone who may make no manual move at all gets 403, and learns nothing about the
    # flow's state from a 422 ("cannot be moved by hand from …").
    if not any(may(actor, t.permission) for t in FLOW_TRANSITIONS if t.manual):
        raise NotAllowed("You may not change a flow's status by hand.")
    if to not in FlowStatus.values:
        raise InvalidTransition(f"Unknown flow status {to!r}.")
    reason = (reason or "").strip()
    with transaction.atomic():
        flow = Flow.objects.select_for_update().select_related("assistant").get(pk=flow_id)
        if flow.status == to:
            return flow, False
        transition = _manual_transition(FLOW_TRANSITIONS, flow.status, to, f"Flow {flow.name}", FlowStatus)
        if not may(actor, transition.permission):
            raise NotAllowed(f"You need the '{transition.permission}' permission to {transition.label.lower()}.")
        if not reason:
            raise ServiceError(f"Say why you {transition.label.lower()} flow {flow.name}: a reason is required.")
        if flow.status == FlowStatus.BLOCKED and to == FlowStatus.PLANNING and _serves_production(flow):
            # Unblocking a flow that serves a production release: it is migrated (it serves everyone), never
            # "planning" (blocking changed nothing production gets, and neither does unblocking).
            to = FlowStatus.MIGRATED
        _move_flow(flow, to, actor=actor, reason=reason, outcome="", evidence={})
        _sync_locked(Assistant.objects.select_for_update().get(pk=flow.assistant_id), actor=actor, reason=reason)
    return flow, True


def _serves_production(flow: Flow) -> bool:
    # The cutover app's rollout, read through the reverse relation so that core imports no app.
    rollout = getattr(flow, "rollout", None)
    return bool(rollout is not None and getattr(rollout, "production_id", None))


# --- The one status story (the rule itself is ``FlowProgress`` in ``migrator.core.status``) ----------------------

# Apps that run work on a flow (validation) say which flows have a run going; core depends on no app.
_BUSY_FLOW_FINDERS: list[Callable[[list[int]], set[int]]] = []


def register_busy_flows(finder: Callable[[list[int]], set[int]]) -> None:
    """``finder(assistant_ids)`` returns the ids of those assistants' flows with a validation run going."""
    if finder not in _BUSY_FLOW_FINDERS:
        _BUSY_FLOW_FINDERS.append(finder)


def flow_progress(assistant_ids: Iterable[int]) -> dict[int, FlowProgress]:
    """Each assistant's flows counted by status: one query for the flows and one per busy-flow finder, whatever
    the assistants and their statuses (pages pin their query counts, so no query depends on the data)."""
    ids = list(dict.fromkeys(assistant_ids))
    if not ids:
        return {}
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    owner_of_planning: dict[int, int] = {}
    for flow_id, assistant_id, status in (Flow.objects.filter(assistant_id__in=ids).order_by()
                                          .values_list("id", "assistant_id", "status")):
        counts[assistant_id][status] = counts[assistant_id].get(status, 0) + 1
        if status == FlowStatus.PLANNING:  # only a flow in planning can be validating
            owner_of_planning[flow_id] = assistant_id
    busy: set[int] = set()
    for finder in _BUSY_FLOW_FINDERS:
        busy |= finder(ids)
    planning: dict[int, int] = {}
    for flow_id in busy & owner_of_planning.keys():
        planning[owner_of_planning[flow_id]] = planning.get(owner_of_planning[flow_id], 0) + 1
    return {i: FlowProgress(tuple(sorted(counts[i].items())), planning.get(i, 0)) for i in ids}


def _sync_locked(assistant: Assistant, *, actor, reason: str = "", outcome: str = "",
                 evidence: dict | None = None) -> bool:
    if assistant.status not in FOLLOWS_FLOWS:
        return False
    progress = flow_progress([assistant.pk])[assistant.pk]
    if not progress.total:
        return False
    target = progress.assistant_status(assistant.status)
    if target != assistant.status:
        words = f"{progress.words()}."
        _move_assistant(assistant, target, actor=actor, reason=f"{reason} Its flows: {words}" if reason else
                        f"Follows its flows: {words}", outcome=outcome,
                        evidence={**(evidence or {}), "flows": dict(progress.counts),
                                  "validating": progress.validating})
    return True


def sync_assistant_with_flows(*, assistant_id: int, actor) -> tuple[str, str] | None:
    """Move the assistant to where its flows put it (no-op when it is there, or the rule does not apply).

    Called wherever a flow's status, a flow's existence or a flow's validation run changes."""
    check_actor(actor)
    with transaction.atomic():
        assistant = Assistant.objects.select_for_update().get(pk=assistant_id)
        before = assistant.status
        _sync_locked(assistant, actor=actor)
    return (before, assistant.status) if assistant.status != before else None


@dataclass
class OutcomeResult:
    assistant_moved: tuple[str, str] | None = None
    flow_moved: tuple[str, str] | None = None


def apply_outcome(
    *,
    outcome: str,
    actor,
    assistant_id: int | None = None,
    flow_id: int | None = None,
    reason: str = "",
    evidence: dict[str, Any] | None = None,
    flow_to: str | None = None,
) -> OutcomeResult:
    """Move the assistant's and/or flow's status as ``outcome`` says (no-op where the table has no move).

    Called only by the service that performed the action, inside or outside its transaction. The caller has
    checked its own permissions and evidence; this records who (``label_of(actor)``) and why. ``flow_to``
    picks the target where the flow table lists two for one outcome (see ``FLOW_TRANSITIONS``).
    """
    check_actor(actor)
    if outcome not in Outcome.values:
        raise InvalidTransition(f"Unknown outcome {outcome!r}.")
    result = OutcomeResult()
    evidence = evidence or {}
    reason = reason or f"{Outcome(outcome).label} ({label_of(actor)})"
    with transaction.atomic():
        if flow_id is not None:
            flow = Flow.objects.select_for_update().get(pk=flow_id)
            move = outcome_move(FLOW_TRANSITIONS, flow.status, outcome, prefer=flow_to)
            if move is not None:
                result.flow_moved = (flow.status, move.target)
                _move_flow(flow, move.target, actor=actor, reason=reason, outcome=outcome, evidence=evidence)
            if assistant_id is None:
                assistant_id = flow.assistant_id
        if assistant_id is not None:
            assistant = Assistant.objects.select_for_update().get(pk=assistant_id)
            move = outcome_move(ASSISTANT_TRANSITIONS, assistant.status, outcome)
            before = assistant.status
            # Once the prompt is approved, an assistant with flows follows them (the one rule); the table
            # moves only the others (no flows yet, or before approval, blocked, retired).
            follows = (before in FOLLOWS_FLOWS and (move is None or move.target in FOLLOWS_FLOWS)
                       and _sync_locked(assistant, actor=actor, reason=reason, outcome=outcome, evidence=evidence))
            if move is not None and not follows:
                _move_assistant(assistant, move.target, actor=actor, reason=reason, outcome=outcome,
                                evidence=evidence)
                _sync_locked(assistant, actor=actor)  # e.g. approved again while its flows had moved on
            if assistant.status != before:
                result.assistant_moved = (before, assistant.status)
    return result
