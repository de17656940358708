"""When a request's evidence no longer holds: why (``still_current``), voiding the request, and moving a flow's
claimed status back when its configuration or mode changed (``evidence_changed``)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from migrator.core.confighash import config_hash
from migrator.core.models import Flow
from migrator.core.services import audit
from migrator.core.services.status import apply_outcome
from migrator.core.status import FlowStatus, Outcome
from migrator.cutover.models import CutoverRequest, FlowRollout, RequestStatus
from migrator.cutover.services import releases
from migrator.cutover.services.common import (
    approved_version,
    emit,
    locked_flow,
    open_request,
    resting_status,
    set_request_status,
)
from migrator.prompts.successor import is_successor_move


def still_current(request: CutoverRequest, flow: Flow) -> str:
    """Why the request's evidence no longer holds ('' while it does)."""
    if request.mode != flow.mode:
        return f"the flow's mode changed from {request.mode or 'none'} to {flow.mode or 'none'}"
    current = approved_version(flow)
    # A successor move of the approved version (the autopilot's candidate) stands on that version's approval.
    moved = current is not None and request.version.parent_id == current.pk and is_successor_move(
        request.version, current)
    if current is None or (current.pk != request.version_id and not moved):
        return "a different version is approved now"
    if config_hash(request.version.config) != request.config_hash:
        return "the configuration changed"
    if request.release_id:
        now = releases.spec_for(flow, current)
        if now.hash != request.release.hash:
            changed = [f"{name} from {old} to {new}" for name, old, new in (
                ("truncation", request.release.truncation, now.truncation),
                ("store", request.release.store, now.store),
                ("streaming", request.release.stream, now.stream)) if old != new]
            return (f"the release changed from {request.release.hash[:12]} to {now.hash[:12]}"
                    + (f" ({', '.join(changed)})" if changed else ""))
    return ""


def void(request: CutoverRequest, flow: Flow, actor, why: str) -> None:
    set_request_status(request, RequestStatus.VOID, closed_reason=why)
    rollout = FlowRollout.objects.filter(flow=flow).first()
    if rollout and rollout.candidate_id == request.version_id and Decimal(rollout.percent or 0) == 0:
        rollout.candidate = None
        rollout.candidate_release = None
        rollout.request = None
        rollout.save()
    resting = resting_status(flow)
    apply_outcome(outcome=Outcome.EVIDENCE_STALE, actor=actor, flow_id=flow.pk,
                  flow_to=resting if resting == FlowStatus.MIGRATED else FlowStatus.PLANNING,
                  reason=f"Cutover request #{request.pk} void: {why}.")
    audit.record(actor=actor, verb="migrator.cutover.voided", obj=flow, data={"request_id": request.pk, "why": why})
    emit("cutover.voided", request, flow, actor, reason=why)


@dataclass
class StaleResult:
    voided: int = 0
    flows_moved: int = 0


def evidence_changed(*, flow: Flow, actor, why: str) -> StaleResult:
    """The flow's configuration or mode changed: void open requests that are not yet serving anyone, and move
    the flow's claimed status (validated, awaiting approval, approved) back, since its evidence is stale."""
    result = StaleResult()
    with transaction.atomic():
        flow = locked_flow(flow.pk)
        request = open_request(flow)
        rollout = FlowRollout.objects.filter(flow=flow).first()
        ramping = bool(rollout and rollout.candidate_id and Decimal(rollout.percent or 0) > 0)
        if request is not None and not ramping:
            void(request, flow, actor, why)
            result.voided = 1
            return result
        if flow.status == FlowStatus.VALIDATED:
            moved = apply_outcome(outcome=Outcome.EVIDENCE_STALE, actor=actor, flow_id=flow.pk,
                                  flow_to=FlowStatus.PLANNING, reason=f"Evidence stale: {why}.")
            result.flows_moved = int(bool(moved.flow_moved))
    return result
