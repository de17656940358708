"""Asking for a cutover and deciding it: request on evidence (or withdraw), approve or decline with four eyes."""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from migrator.core.actors import is_user, label_of, require, user_or_none
from migrator.core.confighash import config_hash
from migrator.core.models import Flow
from migrator.core.services import NotAllowed, ServiceError, audit
from migrator.core.services.status import apply_outcome
from migrator.core.status import FlowStatus, Outcome
from migrator.cutover import evidence as ev
from migrator.cutover.models import CutoverRequest, FlowRollout, RequestStatus
from migrator.cutover.services import releases
from migrator.cutover.services.common import (
    EvidenceIncomplete,
    approved_version,
    emit,
    locked_flow,
    open_request,
    required_reason,
    resting_status,
    rollout_of,
    set_request_status,
)
from migrator.cutover.services.ramps import apply_percent
from migrator.cutover.services.stale import still_current, void
from migrator.prompts.models import PromptVersion

# --- request ------------------------------------------------------------------------------------------------


def request_cutover(*, flow_id: int, actor, version_number: int | None = None, note: str = "") -> CutoverRequest:
    """Put a flow forward with a version (the approved one by default). Refused with the missing evidence."""
    require(actor, "cutover.request_cutover", action="put a flow forward for cutover")
    with transaction.atomic():
        flow = locked_flow(flow_id)
        if flow.status == FlowStatus.BLOCKED:
            raise ServiceError(f"{flow.name} is blocked; unblock it before requesting a cutover.")
        existing = open_request(flow)
        if existing:
            raise ServiceError(f"{flow.name} already has an open cutover request (#{existing.pk}, "
                               f"{existing.get_status_display().lower()}).")
        if version_number is None:
            version = approved_version(flow)
            if version is None:
                raise EvidenceIncomplete(flow, [ev.Item("prompt", "Approved prompt version", ev.State.MISSING,
                                                        "No version is approved yet.")])
        else:
            version = PromptVersion.objects.filter(assistant_id=flow.assistant_id, number=version_number).first()
            if version is None:
                raise ServiceError(f"{flow.assistant.display_name} has no version {version_number}.")
        rollout = rollout_of(flow)
        spec = releases.spec_for(flow, version)
        if (rollout.production_release_id and rollout.production_release.hash == spec.hash
                and not rollout.candidate_id):
            raise ServiceError(f"{flow.name} already serves release {spec.hash[:12]} (v{version.number}, "
                               f"{flow.mode}) to everyone.")
        items = ev.gather(flow, version)
        missing = ev.missing(items)
        if missing:
            raise EvidenceIncomplete(flow, missing)
        release = releases.ensure_release(flow=flow, version=version, spec=spec, actor=actor,
                                          origin=f"cutover request of v{version.number}")
        try:
            with transaction.atomic():
                request = CutoverRequest.objects.create(
                    flow=flow, version=version, release=release, config_hash=config_hash(version.config),
                    mode=flow.mode,
                    evidence=[i.as_json() for i in items], note=(note or "").strip()[:4000],
                    requested_by=user_or_none(actor), requested_by_label=label_of(actor),
                )
        except IntegrityError as exc:  # a concurrent request won the race for this flow
            raise ServiceError(f"{flow.name} already has an open cutover request.") from exc
        apply_outcome(outcome=Outcome.CUTOVER_REQUESTED, actor=actor, flow_id=flow.pk,
                      reason=f"Cutover to v{version.number} requested (#{request.pk}).",
                      evidence={"request_id": request.pk, "config_hash": request.config_hash, "mode": flow.mode},
                      flow_to=FlowStatus.AWAITING_APPROVAL)
        audit.record(actor=actor, verb="migrator.cutover.requested", obj=flow,
                     after={"request_id": request.pk, "version": version.number, "release": release.hash},
                     data={"config_hash": request.config_hash, "mode": flow.mode, "note": request.note})
        emit("cutover.requested", request, flow, actor)
    return request


def withdraw(*, request_id: int, actor, reason: str) -> CutoverRequest:
    require(actor, "cutover.request_cutover", action="withdraw a cutover request")
    reason = required_reason(reason, "withdraw this request")
    with transaction.atomic():
        request = CutoverRequest.objects.select_related("flow", "version").get(pk=request_id)
        flow = locked_flow(request.flow_id)
        if request.status != RequestStatus.AWAITING:
            raise ServiceError("Only a request that awaits approval can be withdrawn.")
        set_request_status(request, RequestStatus.WITHDRAWN, closed_reason=reason)
        apply_outcome(outcome=Outcome.CUTOVER_DECLINED, actor=actor, flow_id=flow.pk,
                      reason=f"Request #{request.pk} withdrawn: {reason}", flow_to=resting_status(flow))
        audit.record(actor=actor, verb="migrator.cutover.withdrawn", obj=flow, data={"request_id": request.pk,
                                                                                    "reason": reason})
    return request


# --- decide -------------------------------------------------------------------------------------------------


def may_decide(actor, request: CutoverRequest) -> bool:
    """Whether ``actor`` may approve or decline ``request`` now: a person holding the permission who did not
    request it (four eyes), while it awaits a decision. Pages ask this rather than re-stating the rule."""
    try:
        _check_decider(request, actor)
    except NotAllowed:
        return False
    return request.status == RequestStatus.AWAITING


def _check_decider(request: CutoverRequest, actor) -> None:
    if not is_user(actor):
        raise NotAllowed("Only a person can decide a cutover: no token, job or command acts as a support lead "
                         "without naming one.")
    require(actor, "cutover.approve_cutover", action="decide cutover requests")
    if request.requested_by_id == actor.pk:
        raise NotAllowed("You requested this cutover, so someone else must decide it.")


def _awaiting_decision(request_id: int, actor) -> tuple[CutoverRequest, Flow]:
    """The request and its flow, locked (inside the caller's transaction), once ``actor`` may decide it and it still
    awaits a decision."""
    request = CutoverRequest.objects.select_related("version").select_for_update().get(pk=request_id)
    _check_decider(request, actor)
    flow = locked_flow(request.flow_id)
    if request.status != RequestStatus.AWAITING:
        raise ServiceError(f"This request is {request.get_status_display().lower()}, not awaiting approval.")
    return request, flow


def approve(*, request_id: int, actor, reason: str, accept_loosened: str = "") -> CutoverRequest:
    """A support lead approves on evidence. A flow with nothing in production is cut over at 100% at once.

    Stale evidence voids the request; the void is committed before the refusal is raised. Checks loosened since
    the last approved release (red on the evidence) refuse the approval until ``accept_loosened`` says why
    they are acceptable; that reason is kept with the decision and in the audit event."""
    reason = required_reason(reason, "approve this cutover")
    void_error: ServiceError | None = None
    with transaction.atomic():
        request, flow = _awaiting_decision(request_id, actor)
        stale = still_current(request, flow)
        if stale:
            void(request, flow, actor, stale)
            void_error = ServiceError(f"The request is void: {stale}. Request the cutover again with fresh evidence.")
        else:
            _approve_locked(request, flow, actor, reason, accept_loosened=(accept_loosened or "").strip())
    if void_error is not None:
        raise void_error
    return request


class EvidenceChanged(EvidenceIncomplete):
    """Approval refused: evidence that held at request no longer holds now; ``changes`` says what moved."""

    def __init__(self, flow: Flow, missing: list[ev.Item], changes: list[str]) -> None:
        super().__init__(flow, missing)
        self.changes = changes
        self.args = (f"Not approved: the evidence for release {flow_release_short(flow)} changed since the request "
                     f"— {'; '.join(changes)}. Nothing was served; fix it and request again.",)

    def __str__(self) -> str:
        return self.args[0]


def flow_release_short(flow: Flow) -> str:
    spec = releases.working_spec(flow)
    return spec.hash[:12] if spec else "(none)"


class LoosenedChecks(ServiceError):
    """Approval refused: the validation evidence was judged with checks loosened since the last approved release,
    and the approver has not said why that is acceptable."""

    def __init__(self, loosened: list[dict], baseline: str) -> None:
        self.loosened = loosened
        listed = "; ".join(f"{r.get('label')} {r.get('what')}" + (f" (by {r['by']}" + (f", {r['at'][:16]}" if
                           r.get("at") else "") + ")" if r.get("by") else "") for r in loosened)
        super().__init__(f"Not approved: the validation was judged with checks loosened since {baseline} — {listed}. "
                         "Approve again saying why the loosened checks are acceptable (the approval's \"Accept the "
                         "loosened checks\" reason, or `cutover approve --accept-loosened TEXT`).")


def loosened_of(items: list[ev.Item]) -> tuple[list[dict], str]:
    """The checks loosened since the last approved release, as the validation evidence names them (its red
    badge), and what they were compared with."""
    for item in items:
        if item.details.get("loosened"):
            return list(item.details["loosened"]), str(item.details.get("checks_baseline") or "the last approval")
    return [], ""


def _approve_locked(request: CutoverRequest, flow: Flow, actor, reason: str, *, accept_loosened: str = "") -> None:
    # Every piece of evidence is gathered again, for this release, now: what held at request may not any more
    # (a newer failing run, a tool test that broke, diagnostics gone red). Refuse, naming what changed.
    now = ev.gather(flow, request.version)
    missing = ev.missing(now)
    if missing:
        raise EvidenceChanged(flow, missing, ev.changed_since(request.evidence, now))
    # A check loosened since the last approved release shows red: the approval does not go through on it
    # unless the approver says, on the record, why the weaker evidence is enough.
    loosened, baseline = loosened_of(now)
    if loosened and len(accept_loosened) < 5:
        raise LoosenedChecks(loosened, baseline)
    accepted = {"reason": accept_loosened[:2000], "baseline": baseline,
                "checks": [{k: r.get(k) for k in ("check", "label", "what", "by", "at")} for r in loosened]
                } if loosened else None
    if accepted:
        reason = f"{reason} (loosened checks accepted: {accepted['reason']})"
    set_request_status(request, RequestStatus.APPROVED, decided_by=actor, decided_at=timezone.now(),
                       decision_reason=reason)
    apply_outcome(outcome=Outcome.CUTOVER_APPROVED, actor=actor, flow_id=flow.pk,
                  reason=f"Cutover to v{request.version.number} approved: {reason}",
                  evidence={"request_id": request.pk, "config_hash": request.config_hash, "mode": request.mode})
    audit.record(actor=actor, verb="migrator.cutover.approved", obj=flow,
                 data={"request_id": request.pk, "version": request.version.number, "reason": reason,
                       **({"loosened_accepted": accepted} if accepted else {})})
    emit("cutover.approved", request, flow, actor, reason=reason)
    rollout = FlowRollout.objects.select_for_update().get_or_create(flow=flow)[0]
    rollout.candidate = request.version
    rollout.candidate_release = request.release
    rollout.percent = Decimal(0)
    rollout.request = request
    rollout.save()
    if rollout.production_id is None:
        # Nothing served yet: there is nothing to ramp from, so the approved version serves everyone.
        apply_percent(flow, rollout, request, Decimal(100), actor, "First cutover: nothing was served before.")


def decline(*, request_id: int, actor, reason: str) -> CutoverRequest:
    reason = required_reason(reason, "decline this cutover")
    with transaction.atomic():
        request, flow = _awaiting_decision(request_id, actor)
        set_request_status(request, RequestStatus.DECLINED, decided_by=actor, decided_at=timezone.now(),
                           decision_reason=reason)
        apply_outcome(outcome=Outcome.CUTOVER_DECLINED, actor=actor, flow_id=flow.pk,
                      reason=f"Cutover to v{request.version.number} declined: {reason}", flow_to=resting_status(flow))
        audit.record(actor=actor, verb="migrator.cutover.declined", obj=flow,
                     data={"request_id": request.pk, "version": request.version.number, "reason": reason})
        emit("cutover.declined", request, flow, actor, reason=reason)
    return request
