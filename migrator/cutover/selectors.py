"""Read-side: each flow's cutover stage as people, pages and `manage.py cutover status` see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch

from migrator.core.models import Flow
from migrator.core.status import FlowStatus
from migrator.cutover import evidence as ev
from migrator.cutover.models import OPEN_REQUEST, CutoverRequest, FlowRollout, RequestStatus

STAGES = ("planning", "awaiting_approval", "approved", "rolling_out", "migrated", "declined", "blocked")
STAGE_LABELS = {"planning": "Planning", "awaiting_approval": "Awaiting approval", "approved": "Approved",
                "rolling_out": "Rolling out", "migrated": "Migrated", "declined": "Declined", "blocked": "Blocked"}


@dataclass
class FlowStage:
    flow: Flow
    stage: str
    percent: float
    candidate_version: int | None
    production_version: int | None
    request: CutoverRequest | None
    requested_by: str | None
    missing: list[str] = field(default_factory=list)
    production_release: str | None = None
    candidate_release: str | None = None

    @property
    def label(self) -> str:
        return STAGE_LABELS[self.stage]

    def as_json(self) -> dict[str, Any]:
        return {"slug": self.flow.slug, "stage": self.stage, "percent": self.percent,
                "candidate_version": self.candidate_version, "production_version": self.production_version,
                "requested_by": self.requested_by, "missing": self.missing,
                "production_release": self.production_release, "candidate_release": self.candidate_release}


def stage_of(flow: Flow, rollout: FlowRollout | None, open_req: CutoverRequest | None,
             last_req: CutoverRequest | None) -> str:
    if flow.status == FlowStatus.BLOCKED:
        return "blocked"
    if rollout and rollout.candidate_id and float(rollout.percent or 0) > 0:
        return "rolling_out"
    if open_req and open_req.status == RequestStatus.APPROVED:
        return "approved"
    if open_req and open_req.status == RequestStatus.AWAITING:
        return "awaiting_approval"
    if last_req and last_req.status == RequestStatus.DECLINED and not (rollout and rollout.production_id):
        return "declined"
    if rollout and rollout.production_id:
        return "migrated"
    return "planning"


def flow_stages(flows=None, *, with_missing: bool = False) -> list[FlowStage]:
    qs = flows if flows is not None else Flow.objects.all()
    qs = qs.select_related("assistant").prefetch_related(
        Prefetch("cutover_requests", queryset=CutoverRequest.objects.select_related("version", "requested_by",
                                                                                   "release")
                 .order_by("-requested_at", "-id"), to_attr="_requests"),
    ).order_by("slug")
    rollouts = {r.flow_id: r for r in FlowRollout.objects.filter(flow__in=qs).select_related(
        "production", "candidate", "production_release", "candidate_release")}
    out = []
    for flow in qs:
        requests = flow._requests
        open_req = next((r for r in requests if r.status in OPEN_REQUEST), None)
        last = requests[0] if requests else None
        rollout = rollouts.get(flow.pk)
        shown = open_req or last
        candidate = (rollout.candidate.number if rollout and rollout.candidate_id
                     else (open_req.version.number if open_req else None))
        stage = stage_of(flow, rollout, open_req, last)
        missing: list[str] = []
        if with_missing and stage in ("planning", "declined"):
            from migrator.cutover.services import approved_version

            version = approved_version(flow)
            missing = [f"{i.key}: {i.summary}" for i in ev.missing(ev.gather(flow, version))] if version else [
                "prompt: no version is approved yet"]
        production_release = rollout.production_release.hash if rollout and rollout.production_release_id else None
        candidate_release = (rollout.candidate_release.hash if rollout and rollout.candidate_release_id
                             else (open_req.release.hash if open_req and open_req.release_id else None))
        if with_missing and candidate_release is None and flow.mode:
            # Settings changed on a live flow (Save mode) make a candidate before anyone requests a cutover.
            from migrator.cutover.services.releases import working_spec

            working = working_spec(flow)
            if working is not None and working.hash != production_release:
                candidate_release = working.hash
        out.append(FlowStage(
            flow=flow, stage=stage,
            percent=(float(rollout.percent) if rollout and rollout.candidate_id else
                     (100.0 if rollout and rollout.production_id else 0.0)),
            candidate_version=candidate,
            production_version=rollout.production.number if rollout and rollout.production_id else None,
            request=shown, requested_by=shown.requested_by_label if shown else None, missing=missing,
            production_release=production_release, candidate_release=candidate_release,
        ))
    return out
