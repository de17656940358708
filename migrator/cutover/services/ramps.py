"""Serving a cutover: ramp the approved candidate to a share of subjects, complete it at 100%, roll it back."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction

from migrator.core.actors import label_of, require, user_or_none
from migrator.core.models import Flow
from migrator.core.services import ServiceError, audit
from migrator.core.services.status import apply_outcome
from migrator.core.signals import cutover_ramp_check
from migrator.core.status import FlowStatus, Outcome
from migrator.cutover.models import ChangeKind, CutoverRequest, FlowRollout, RequestStatus, ServingChange
from migrator.cutover.services.common import (
    emit,
    locked_flow,
    open_request,
    required_reason,
    set_request_status,
)
from migrator.cutover.services.stale import still_current, void
from migrator.prompts.models import PromptVersion

DEFAULT_STEPS = (1, 10, 50, 100)


def parse_percent(value) -> Decimal:
    try:
        percent = Decimal(str(value).strip().rstrip("%"))
    except (InvalidOperation, ValueError) as exc:
        raise ServiceError(f"{value!r} is not a percentage: give a number from 0.01 to 100.") from exc
    if not percent.is_finite() or percent <= 0 or percent > 100:
        raise ServiceError(f"{value} is not a percentage from 0.01 to 100.")
    return percent.quantize(Decimal("0.01"))


def apply_percent(flow: Flow, rollout: FlowRollout, request: CutoverRequest, percent: Decimal, actor,
                  reason: str) -> None:
    before_percent = Decimal(rollout.percent or 0)
    before_version = rollout.production
    before_release = rollout.production_release
    if percent >= 100:
        rollout.production = request.version
        rollout.production_release = request.release
        rollout.candidate = None
        rollout.candidate_release = None
        rollout.percent = Decimal(0)
        rollout.request = None
        rollout.save()
        ServingChange.objects.create(flow=flow, kind=ChangeKind.COMPLETE, from_version=before_version,
                                     to_version=request.version, from_release=before_release,
                                     to_release=request.release, from_percent=before_percent, to_percent=100,
                                     request=request, actor=user_or_none(actor), actor_label=label_of(actor),
                                     reason=reason)
        set_request_status(request, RequestStatus.COMPLETED)
        apply_outcome(outcome=Outcome.CUTOVER_COMPLETED, actor=actor, flow_id=flow.pk,
                      reason=f"v{request.version.number} serves 100% of {flow.name}.",
                      evidence={"request_id": request.pk, "config_hash": request.config_hash})
        audit.record(actor=actor, verb="migrator.cutover.completed", obj=flow,
                     before={"version": before_version.number if before_version else None,
                             "percent": float(before_percent)},
                     after={"version": request.version.number, "percent": 100.0}, data={"reason": reason})
        emit("cutover.completed", request, flow, actor, percent=100.0)
        return
    rollout.percent = percent
    rollout.save(update_fields=["percent", "updated_at"])
    ServingChange.objects.create(flow=flow, kind=ChangeKind.RAMP, from_version=before_version,
                                 to_version=request.version, from_release=before_release,
                                 to_release=request.release, from_percent=before_percent, to_percent=percent,
                                 request=request, actor=user_or_none(actor), actor_label=label_of(actor),
                                 reason=reason)
    apply_outcome(outcome=Outcome.CUTOVER_RAMPED, actor=actor, flow_id=flow.pk,
                  reason=f"v{request.version.number} serves {percent}% of {flow.name}.")
    audit.record(actor=actor, verb="migrator.cutover.ramped", obj=flow,
                 before={"percent": float(before_percent)}, after={"percent": float(percent)},
                 data={"request_id": request.pk, "version": request.version.number, "reason": reason})
    emit("cutover.ramped", request, flow, actor, percent=float(percent))


def ramp(*, flow_id: int, actor, percent, reason: str = "") -> FlowRollout:
    """Serve the approved candidate to ``percent`` of subjects (sticky); 100 completes the cutover."""
    require(actor, "cutover.ramp_cutover", action="ramp a rollout")
    value = parse_percent(percent)
    with transaction.atomic():
        flow = locked_flow(flow_id)
        rollout = FlowRollout.objects.select_for_update(of=("self",)).select_related("candidate", "production").filter(
            flow=flow).first()
        request = open_request(flow)
        if rollout is None or request is None or request.status != RequestStatus.APPROVED or not rollout.candidate_id:
            raise ServiceError(f"{flow.name} has no approved cutover to ramp: a support lead approves a request first.")
        for _receiver, why in cutover_ramp_check.send(sender=FlowRollout, flow=flow):  # e.g. a guard paused it
            if why:
                raise ServiceError(why)
        if value < Decimal(rollout.percent or 0):
            raise ServiceError(f"{flow.name} serves v{rollout.candidate.number} to {rollout.percent}% already; to "
                               "serve fewer subjects, roll back.")
        stale = still_current(request, flow)
        if stale and Decimal(rollout.percent or 0) > 0:
            raise ServiceError(f"The approval no longer holds ({stale}) while v{rollout.candidate.number} serves "
                               f"{rollout.percent}%: roll back, then request the cutover again.")
        if stale:
            # Commit the void before refusing (raising inside this block would roll it back).
            void(request, flow, actor, stale)
            void_error: ServiceError | None = ServiceError(f"The approval is void: {stale}. Nothing was ramped.")
        else:
            void_error = None
            if value != Decimal(rollout.percent or 0):
                apply_percent(flow, rollout, request, value, actor, (reason or "").strip() or f"Ramp to {value}%.")
    if void_error is not None:
        raise void_error
    return rollout


NOT_CUT_OVER = "409 not_cut_over"


class NoPreviousRelease(ServiceError):
    """Rolling back a first cutover: there is nothing to go back to. Refused unless ``stop_serving`` says so."""

    code = "no_previous_release"


def is_first_cutover(flow: Flow, rollout: FlowRollout | None) -> bool:
    """Whether a rollback now would leave production with nothing: no ramp to cancel, and the release in
    production was the flow's first (its completion came from nothing)."""
    if rollout is None or rollout.candidate_id or rollout.production_id is None:
        return False
    last = ServingChange.objects.filter(flow=flow, kind__in=[ChangeKind.COMPLETE, ChangeKind.IMPORTED]).first()
    return last is None or last.from_version_id is None


def production_gets(version: PromptVersion | None, release) -> str:
    """What the config API answers after a change, in words: the release for everyone, or the 409."""
    if version is None:
        return NOT_CUT_OVER
    if release is None:
        return f"v{version.number} serves everyone"
    return f"v{version.number} serves everyone (release {release.hash[:12]}, {release.mode})"


def rollback(*, flow_id: int, actor, reason: str, stop_serving: bool = False) -> FlowRollout:
    """One click: the previous release serves 100% again, in one transaction with the status.

    A first cutover has no previous release: rolling it back stops serving the flow, and production then gets
    ``409 not_cut_over``. That is refused (:class:`NoPreviousRelease`, saying so) unless ``stop_serving`` is
    given, which is the confirmation that this is what the person wants."""
    require(actor, "cutover.ramp_cutover", action="roll back a rollout")
    reason = required_reason(reason, "roll back")
    with transaction.atomic():
        flow = locked_flow(flow_id)
        rollout = FlowRollout.objects.select_for_update(of=("self",)).select_related("candidate", "production").filter(
            flow=flow).first()
        if rollout is None or (rollout.production_id is None and rollout.candidate_id is None):
            raise ServiceError(f"{flow.name} serves nothing yet, so there is nothing to roll back.")
        if is_first_cutover(flow, rollout) and not stop_serving:
            raise NoPreviousRelease(
                f"{flow.name} has no previous release to roll back to: its first cutover put "
                f"v{rollout.production.number} in production. Rolling back stops serving it, and production then "
                f"gets {NOT_CUT_OVER} on every request. Confirm 'stop serving' to do that; nothing was changed.")
        request = open_request(flow)
        if rollout.candidate_id:
            # Mid-ramp (or approved, not ramped): everyone goes back to production.
            from_version, to_version, from_percent = rollout.candidate, rollout.production, Decimal(rollout.percent)
            from_release, to_release = rollout.candidate_release, rollout.production_release
            rollout.candidate = None
            rollout.candidate_release = None
            rollout.percent = Decimal(0)
            rollout.request = None
        else:
            last = (ServingChange.objects.filter(flow=flow, kind__in=[ChangeKind.COMPLETE, ChangeKind.IMPORTED])
                    .select_related("from_version", "from_release", "request").first())
            from_version, to_version, from_percent = rollout.production, (last.from_version if last else None), 100
            from_release, to_release = rollout.production_release, (last.from_release if last else None)
            request = last.request if last else None
            rollout.production = to_version
            rollout.production_release = to_release
        rollout.save()
        ServingChange.objects.create(flow=flow, kind=ChangeKind.ROLLBACK, from_version=from_version,
                                     to_version=to_version, from_release=from_release, to_release=to_release,
                                     from_percent=from_percent, to_percent=100,
                                     request=request, actor=user_or_none(actor), actor_label=label_of(actor),
                                     reason=reason)
        if request is not None and request.status in (RequestStatus.APPROVED, RequestStatus.COMPLETED):
            set_request_status(request, RequestStatus.ROLLED_BACK, closed_reason=reason)
        target = FlowStatus.MIGRATED if to_version is not None else FlowStatus.VALIDATED
        gets = production_gets(to_version, to_release)
        stopped = to_version is None
        apply_outcome(outcome=Outcome.CUTOVER_ROLLED_BACK, actor=actor, flow_id=flow.pk, flow_to=target,
                      reason=(f"Stopped serving: production gets {NOT_CUT_OVER}: {reason}" if stopped else
                              f"Rolled back to {gets}: {reason}"))
        audit.record(actor=actor, verb="migrator.cutover.stopped_serving" if stopped else "migrator.cutover.rolled_back",
                     obj=flow,
                     before={"version": from_version.number if from_version else None,
                             "release": from_release.hash if from_release else None},
                     after={"version": to_version.number if to_version else None,
                            "release": to_release.hash if to_release else None},
                     data={"reason": reason, "production_gets": gets})
        emit("cutover.rolled_back", request, flow, actor, reason=reason,
             to_version=to_version.number if to_version else None, production_gets=gets)
    rollout.production_gets = gets
    return rollout
