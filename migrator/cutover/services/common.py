"""What the cutover services share: loading and locking a flow, a request's status moves, the events they emit, and
what a flow serves, has approved or would put forward."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from migrator.core.actors import label_of
from migrator.core.models import Flow
from migrator.core.services import ServiceError
from migrator.core.signals import cutover_event
from migrator.core.status import FlowStatus, move
from migrator.cutover import evidence as ev
from migrator.cutover.models import OPEN_REQUEST, CutoverRequest, FlowRollout, RequestStatus
from migrator.prompts.models import LabelName, PromptLabel, PromptVersion


class EvidenceIncomplete(ServiceError):
    """The request is refused: ``missing`` lists what evidence is absent or failing."""

    def __init__(self, flow: Flow, missing: list[ev.Item]) -> None:
        self.missing = missing
        lines = "; ".join(f"{i.title}: {i.summary}" for i in missing)
        super().__init__(f"The cutover of {flow.name} is incomplete. Missing evidence — {lines}")


def required_reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(f"Say why you {what}: a reason is required.")
    return reason[:4000]


def locked_flow(flow_id: int, *, lock: bool = True) -> Flow:
    qs = Flow.objects.select_related("assistant")
    if lock:
        qs = qs.select_for_update(of=("self",))
    flow = qs.filter(pk=flow_id).first()
    if flow is None:
        raise ServiceError(f"Flow #{flow_id} does not exist.")
    return flow


def set_request_status(request: CutoverRequest, to: str, **fields) -> None:
    """The one place a request's status changes: core's compare-and-set along REQUEST_TRANSITIONS."""
    if not move(request, to, any_source=True, **fields):
        request.refresh_from_db(fields=["status"])
        raise ServiceError(f"This cutover request is {request.get_status_display().lower()}; it cannot become "
                           f"{RequestStatus(to).label.lower()}.")


def emit(event: str, request: CutoverRequest | None, flow: Flow, actor, **extra) -> None:
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


def resting_status(flow: Flow) -> str:
    """Where a flow rests when no request is open: MIGRATED while it serves a production version."""
    has_production = FlowRollout.objects.filter(flow=flow, production__isnull=False).exists()
    return FlowStatus.MIGRATED if has_production else FlowStatus.VALIDATED
