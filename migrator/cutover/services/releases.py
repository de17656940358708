"""Releases: the rows that name what a flow serves or would serve, by content hash.

A flow's *working* release is its approved prompt version with the flow's current mode, truncation and store:
what a cutover request would put forward now. Changing any part of it (a new approved version, Save mode, a
successor model) makes a new working release, a *candidate*; what production gets stays the release its
rollout points at until a cutover reaches the candidate. :func:`create_candidate` is the door for people
(through Save mode and ``manage.py flow mode``) and for system actors (an autopilot moving a flow to a
successor model) alike.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from migrator.core.actors import label_of, require, user_or_none
from migrator.core.models import Flow
from migrator.core.release import ReleaseSpec, make_release
from migrator.core.services import ServiceError, audit
from migrator.core.status import FlowMode
from migrator.cutover.models import FlowRollout, Release
from migrator.prompts.models import PromptVersion


def spec_for(flow: Flow, version: PromptVersion, *, mode: str | None = None, truncation: str | None = None,
             store: bool | None = None) -> ReleaseSpec:
    """The release of ``version`` with the flow's working settings (or the given ones), streamed when the flow
    streams in production."""
    return make_release(config=version.config, mode=mode or flow.mode or FlowMode.STATELESS,
                        truncation=truncation or flow.truncation, store=flow.store if store is None else store,
                        stream=bool(flow.streams))


def working_spec(flow: Flow) -> ReleaseSpec | None:
    """What a cutover request would put forward now (None while no version is approved)."""
    from migrator.cutover.services import approved_version

    version = approved_version(flow)
    return spec_for(flow, version) if version is not None else None


def ensure_release(*, flow: Flow, version: PromptVersion, spec: ReleaseSpec, actor, origin: str) -> Release:
    """The flow's release row for ``spec`` (created once; releases are immutable)."""
    release = Release.objects.filter(flow=flow, hash=spec.hash).first()
    if release is not None:
        return release
    with transaction.atomic():
        release, _ = Release.objects.get_or_create(
            flow=flow, hash=spec.hash,
            defaults={"version": version, "mode": spec.mode, "truncation": spec.truncation, "store": spec.store,
                      "content": spec.content(), "origin": origin[:300], "created_by": user_or_none(actor),
                      "created_by_label": label_of(actor)})
    return release


def production_release(flow: Flow) -> Release | None:
    rollout = FlowRollout.objects.filter(flow=flow).select_related("production_release").first()
    return rollout.production_release if rollout is not None else None


def candidate_release(flow: Flow) -> str | None:
    """The hash of the release waiting to reach production, if any: the one a cutover ramps or awaits approval
    for, else the working release when it differs from what production serves."""
    from migrator.cutover.services import open_request

    rollout = FlowRollout.objects.filter(flow=flow).select_related("candidate_release", "production_release").first()
    if rollout is not None and rollout.candidate_release_id:
        return rollout.candidate_release.hash
    request = open_request(flow)
    if request is not None and request.release_id:
        return request.release.hash
    spec = working_spec(flow)
    if spec is None or not flow.mode:
        return None
    served = rollout.production_release.hash if rollout is not None and rollout.production_release_id else None
    return spec.hash if spec.hash != served else None


def create_candidate(*, flow_id: int, actor, reason: str, version_id: int | None = None,
                     mode: str | None = None, truncation: str | None = None, store: bool | None = None) -> Release:
    """Record a candidate release of the flow: ``version_id`` (default: the approved version) with the given
    settings (default: the flow's working ones). Changes nothing production gets; a cutover request puts the
    candidate forward. Callable by people and by system actors holding ``cutover.request_cutover``.
    """
    from migrator.cutover.services import approved_version

    require(actor, "cutover.request_cutover", action="create a candidate release")
    with transaction.atomic():
        flow = Flow.objects.select_for_update().filter(pk=flow_id).first()
        if flow is None:
            raise ServiceError(f"Flow #{flow_id} does not exist.")
        if version_id is not None:
            version = PromptVersion.objects.filter(pk=version_id, assistant_id=flow.assistant_id).first()
            if version is None:
                raise ServiceError(f"Prompt version #{version_id} is not a version of {flow.assistant.display_name}.")
        else:
            version = approved_version(flow)
            if version is None:
                raise ServiceError(f"{flow.name} has no approved prompt version to release yet.")
        if mode is not None and mode not in FlowMode.values:
            raise ServiceError(f"Unknown mode {mode!r}; choose one of: {', '.join(FlowMode.values)}.")
        spec = spec_for(flow, version, mode=mode, truncation=truncation, store=store)
        existed = Release.objects.filter(flow=flow, hash=spec.hash).exists()
        release = ensure_release(flow=flow, version=version, spec=spec, actor=actor,
                                 origin=(reason or "candidate release").strip())
        served = production_release(flow)
        audit.record(actor=actor, verb="migrator.release.candidate", obj=flow,
                     before={"production_release": served.hash if served else None},
                     after={"candidate_release": release.hash},
                     data={"version": version.number, "mode": spec.mode, "truncation": spec.truncation,
                           "store": spec.store, "stream": spec.stream, "reason": (reason or "").strip()[:1000], "new": not existed,
                           "serves_now": served.hash if served else None})
    return release


def describe(release: Release | None) -> dict[str, Any] | None:
    if release is None:
        return None
    return {"hash": release.hash, "version": release.version.number, "mode": release.mode,
            "truncation": release.truncation, "store": release.store, "stream": release.stream,
            "model": release.spec().model,
            "created_at": release.created_at.isoformat(), "created_by": release.created_by_label,
            "origin": release.origin}
