"""Cutover services: request on evidence, approve or decline, ramp, complete, roll back; void on change.

Every change of what a flow serves happens here, in one transaction with the flow's status, a
``ServingChange`` row and an audit event. Views, commands and (never) API tokens are doors onto these.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone

from migrator.core.actors import is_user, label_of, require, user_or_none
from migrator.core.confighash import config_hash
from migrator.core.models import Flow
from migrator.core.services import NotAllowed, ServiceError, audit
from migrator.core.services.status import apply_outcome
from migrator.core.signals import cutover_event, cutover_ramp_check
from migrator.core.status import FlowStatus, Outcome, move
from migrator.cutover import evidence as ev
from migrator.cutover.models import (
    OPEN_REQUEST,
    ChangeKind,
    CutoverRequest,
    FlowRollout,
    RequestStatus,
    ServingChange,
)
from migrator.cutover.services import releases
from migrator.prompts.models import LabelName, PromptLabel, PromptVersion
from migrator.prompts.successor import is_successor_move

DEFAULT_STEPS = (1, 10, 50, 100)


class EvidenceIncomplete(ServiceError):
    """The request is refused: ``missing`` lists what evidence is absent or failing."""

    def __init__(self, flow: Flow, missing: list[ev.Item]) -> None:
        self.missing = missing
        lines = "; ".join(f"{i.title}: {i.summary}" for i in missing)
        super().__init__(f"The cutover of {flow.name} is incomplete. Missing evidence — {lines}")


def _reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(f"Say why you {what}: a reason is required.")
    return reason[:4000]


def _flow(flow_id: int, *, lock: bool = True) -> Flow:
    qs = Flow.objects.select_related("assistant")
    if lock:
        qs = qs.select_for_update(of=("self",))
    flow = qs.filter(pk=flow_id).first()
    if flow is None:
        raise ServiceError(f"Flow #{flow_id} does not exist.")
    return flow


def _set_request_status(request: CutoverRequest, to: str, **fields) -> None:
    """The one place a request's status changes: core's compare-and-set along REQUEST_TRANSITIONS."""
    if not move(request, to, any_source=True, **fields):
        request.refresh_from_db(fields=["status"])
        raise ServiceError(f"This cutover request is {request.get_status_display().lower()}; it cannot become "
                           f"{RequestStatus(to).label.lower()}.")


def _emit(event: str, request: CutoverRequest | None, flow: Flow, actor, **extra) -> None:
    payload = {
        "event": event,
        "flow": {"slug": flow.slug, "name": flow.name, "status": flow.status},
        "request": ({"id": request.pk, "version": request.version.number, "config_hash": request.config_hash,
                     "mode": request.mode, "status": request.status} if request else None),
        "actor": label_of(actor),
        "at": timezone.now().isoformat(),
        **extra,
    }
    transaction.on_commit(lambda: cutover_event.send(sender=CutoverRequest, event=event, payload=payload,
                                                     actor=actor))


def open_request(flow: Flow) -> CutoverRequest | None:
    return (CutoverRequest.objects.filter(flow=flow, status__in=OPEN_REQUEST)
            .select_related("version", "requested_by", "decided_by").first())


def rollout_of(flow: Flow) -> FlowRollout:
    rollout, _ = FlowRollout.objects.get_or_create(flow=flow)
    return rollout


def approved_version(flow: Flow) -> PromptVersion | None:
    label = PromptLabel.objects.filter(assistant_id=flow.assistant_id, name=LabelName.APPROVED).select_related(
        "version").first()
    return label.version if label else None


def evidence_for(flow: Flow, version: PromptVersion | None = None) -> list[ev.Item]:
    version = version or approved_version(flow)
    return ev.gather(flow, version)


# --- request -----------------------------------------------------------------------------------------------


def request_cutover(*, flow_id: int, actor, version_number: int | None = None, note: str = "") -> CutoverRequest:
    """Put a flow forward with a version (the approved one by default). Refused with the missing evidence."""
    require(actor, "cutover.request_cutover", action="put a flow forward for cutover")
    with transaction.atomic():
        flow = _flow(flow_id)
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
        _emit("cutover.requested", request, flow, actor)
    return request


def withdraw(*, request_id: int, actor, reason: str) -> CutoverRequest:
    require(actor, "cutover.request_cutover", action="withdraw a cutover request")
    reason = _reason(reason, "withdraw this request")
    with transaction.atomic():
        request = CutoverRequest.objects.select_related("flow", "version").get(pk=request_id)
        flow = _flow(request.flow_id)
        if request.status != RequestStatus.AWAITING:
            raise ServiceError("Only a request that awaits approval can be withdrawn.")
        _set_request_status(request, RequestStatus.WITHDRAWN, closed_reason=reason)
        apply_outcome(outcome=Outcome.CUTOVER_DECLINED, actor=actor, flow_id=flow.pk,
                      reason=f"Request #{request.pk} withdrawn: {reason}", flow_to=_resting_status(flow))
        audit.record(actor=actor, verb="migrator.cutover.withdrawn", obj=flow, data={"request_id": request.pk,
                                                                                    "reason": reason})
    return request


# --- decide ------------------------------------------------------------------------------------------------


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


def approve(*, request_id: int, actor, reason: str, accept_loosened: str = "") -> CutoverRequest:
    """A support lead approves on evidence. A flow with nothing in production is cut over at 100% at once.

    Stale evidence voids the request; the void is committed before the refusal is raised. Checks loosened since
    the last approved release (red on the evidence) refuse the approval until ``accept_loosened`` says why
    they are acceptable; that reason is kept with the decision and in the audit event."""
    reason = _reason(reason, "approve this cutover")
    void_error: ServiceError | None = None
    with transaction.atomic():
        request = CutoverRequest.objects.select_related("version").select_for_update().get(pk=request_id)
        _check_decider(request, actor)
        flow = _flow(request.flow_id)
        if request.status != RequestStatus.AWAITING:
            raise ServiceError(f"This request is {request.get_status_display().lower()}, not awaiting approval.")
        stale = still_current(request, flow)
        if stale:
            _void(request, flow, actor, stale)
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
    _set_request_status(request, RequestStatus.APPROVED, decided_by=actor, decided_at=timezone.now(),
                        decision_reason=reason)
    apply_outcome(outcome=Outcome.CUTOVER_APPROVED, actor=actor, flow_id=flow.pk,
                  reason=f"Cutover to v{request.version.number} approved: {reason}",
                  evidence={"request_id": request.pk, "config_hash": request.config_hash, "mode": request.mode})
    audit.record(actor=actor, verb="migrator.cutover.approved", obj=flow,
                 data={"request_id": request.pk, "version": request.version.number, "reason": reason,
                       **({"loosened_accepted": accepted} if accepted else {})})
    _emit("cutover.approved", request, flow, actor, reason=reason)
    rollout = FlowRollout.objects.select_for_update().get_or_create(flow=flow)[0]
    rollout.candidate = request.version
    rollout.candidate_release = request.release
    rollout.percent = Decimal(0)
    rollout.request = request
    rollout.save()
    if rollout.production_id is None:
        # Nothing served yet: there is nothing to ramp from, so the approved version serves everyone.
        _apply_percent(flow, rollout, request, Decimal(100), actor, "First cutover: nothing was served before.")


def decline(*, request_id: int, actor, reason: str) -> CutoverRequest:
    reason = _reason(reason, "decline this cutover")
    with transaction.atomic():
        request = CutoverRequest.objects.select_related("version").select_for_update().get(pk=request_id)
        _check_decider(request, actor)
        flow = _flow(request.flow_id)
        if request.status != RequestStatus.AWAITING:
            raise ServiceError(f"This request is {request.get_status_display().lower()}, not awaiting approval.")
        _set_request_status(request, RequestStatus.DECLINED, decided_by=actor, decided_at=timezone.now(),
                            decision_reason=reason)
        apply_outcome(outcome=Outcome.CUTOVER_DECLINED, actor=actor, flow_id=flow.pk,
                      reason=f"Cutover to v{request.version.number} declined: {reason}", flow_to=_resting_status(flow))
        audit.record(actor=actor, verb="migrator.cutover.declined", obj=flow,
                     data={"request_id": request.pk, "version": request.version.number, "reason": reason})
        _emit("cutover.declined", request, flow, actor, reason=reason)
    return request


# --- ramp, complete, roll back -----------------------------------------------------------------------------


def parse_percent(value) -> Decimal:
    try:
        percent = Decimal(str(value).strip().rstrip("%"))
    except (InvalidOperation, ValueError) as exc:
        raise ServiceError(f"{value!r} is not a percentage: give a number from 0.01 to 100.") from exc
    if not percent.is_finite() or percent <= 0 or percent > 100:
        raise ServiceError(f"{value} is not a percentage from 0.01 to 100.")
    return percent.quantize(Decimal("0.01"))


def _resting_status(flow: Flow) -> str:
    """Where a flow rests when no request is open: MIGRATED while it serves a production version."""
    has_production = FlowRollout.objects.filter(flow=flow, production__isnull=False).exists()
    return FlowStatus.MIGRATED if has_production else FlowStatus.VALIDATED


def _apply_percent(flow: Flow, rollout: FlowRollout, request: CutoverRequest, percent: Decimal, actor,
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
        _set_request_status(request, RequestStatus.COMPLETED)
        apply_outcome(outcome=Outcome.CUTOVER_COMPLETED, actor=actor, flow_id=flow.pk,
                      reason=f"v{request.version.number} serves 100% of {flow.name}.",
                      evidence={"request_id": request.pk, "config_hash": request.config_hash})
        audit.record(actor=actor, verb="migrator.cutover.completed", obj=flow,
                     before={"version": before_version.number if before_version else None,
                             "percent": float(before_percent)},
                     after={"version": request.version.number, "percent": 100.0}, data={"reason": reason})
        _emit("cutover.completed", request, flow, actor, percent=100.0)
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
    _emit("cutover.ramped", request, flow, actor, percent=float(percent))


def ramp(*, flow_id: int, actor, percent, reason: str = "") -> FlowRollout:
    """Serve the approved candidate to ``percent`` of subjects (sticky); 100 completes the cutover."""
    require(actor, "cutover.ramp_cutover", action="ramp a rollout")
    value = parse_percent(percent)
    with transaction.atomic():
        flow = _flow(flow_id)
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
            _void(request, flow, actor, stale)
            void_error: ServiceError | None = ServiceError(f"The approval is void: {stale}. Nothing was ramped.")
        else:
            void_error = None
            if value != Decimal(rollout.percent or 0):
                _apply_percent(flow, rollout, request, value, actor, (reason or "").strip() or f"Ramp to {value}%.")
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
    reason = _reason(reason, "roll back")
    with transaction.atomic():
        flow = _flow(flow_id)
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
            _set_request_status(request, RequestStatus.ROLLED_BACK, closed_reason=reason)
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
        _emit("cutover.rolled_back", request, flow, actor, reason=reason,
              to_version=to_version.number if to_version else None, production_gets=gets)
    rollout.production_gets = gets
    return rollout


# --- evidence changed --------------------------------------------------------------------------------------


def _void(request: CutoverRequest, flow: Flow, actor, why: str) -> None:
    _set_request_status(request, RequestStatus.VOID, closed_reason=why)
    rollout = FlowRollout.objects.filter(flow=flow).first()
    if rollout and rollout.candidate_id == request.version_id and Decimal(rollout.percent or 0) == 0:
        rollout.candidate = None
        rollout.candidate_release = None
        rollout.request = None
        rollout.save()
    resting = _resting_status(flow)
    apply_outcome(outcome=Outcome.EVIDENCE_STALE, actor=actor, flow_id=flow.pk,
                  flow_to=resting if resting == FlowStatus.MIGRATED else FlowStatus.PLANNING,
                  reason=f"Cutover request #{request.pk} void: {why}.")
    audit.record(actor=actor, verb="migrator.cutover.voided", obj=flow, data={"request_id": request.pk, "why": why})
    _emit("cutover.voided", request, flow, actor, reason=why)


@dataclass
class StaleResult:
    voided: int = 0
    flows_moved: int = 0


def evidence_changed(*, flow: Flow, actor, why: str) -> StaleResult:
    """The flow's configuration or mode changed: void open requests that are not yet serving anyone, and move
    the flow's claimed status (validated, awaiting approval, approved) back, since its evidence is stale."""
    result = StaleResult()
    with transaction.atomic():
        flow = _flow(flow.pk)
        request = open_request(flow)
        rollout = FlowRollout.objects.filter(flow=flow).first()
        ramping = bool(rollout and rollout.candidate_id and Decimal(rollout.percent or 0) > 0)
        if request is not None and not ramping:
            _void(request, flow, actor, why)
            result.voided = 1
            return result
        if flow.status == FlowStatus.VALIDATED:
            moved = apply_outcome(outcome=Outcome.EVIDENCE_STALE, actor=actor, flow_id=flow.pk,
                                  flow_to=FlowStatus.PLANNING, reason=f"Evidence stale: {why}.")
            result.flows_moved = int(bool(moved.flow_moved))
    return result
