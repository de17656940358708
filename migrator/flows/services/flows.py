"""Flows: creation, and the state-mode recommendation and decision. Statuses belong to cutover."""

from __future__ import annotations

import re

from django.db import transaction
from django.utils import timezone

from migrator.core.actors import require
from migrator.core.models import Assistant, Flow
from migrator.core.services import ServiceError, audit
from migrator.core.services.status import sync_assistant_with_flows
from migrator.core.signals import flow_settings_changed
from migrator.core.status import FlowMode
from migrator.flows.recommend import Recommendation, ThreadStat, recommend
from migrator.tools import toolset

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
TRUNCATIONS = ("auto", "disabled")


def _require(actor, perm: str, action: str) -> None:
    require(actor, perm, action=action)


def _snapshot(flow: Flow) -> dict:
    return {"mode": flow.mode, "truncation": flow.truncation, "store": flow.store, "mode_reason": flow.mode_reason}


# --- recommendation ----------------------------------------------------------------------------------------


def thread_stats(flow: Flow) -> tuple[list[ThreadStat], str]:
    """The threads behind a flow's recommendation: those tagged with its slug, else all of its assistant's."""
    try:
        from migrator.inventory.models import LegacyThread
    except ImportError:
        return [], "assistant"
    fields = ("user_turns", "approx_tokens", "created_at_legacy", "last_message_at")
    tagged = LegacyThread.objects.filter(assistant_id=flow.assistant_id, flow_slug=flow.slug)
    source = "flow"
    if not tagged.exists():
        tagged = LegacyThread.objects.filter(assistant_id=flow.assistant_id)
        source = "assistant"
    stats = [ThreadStat(*values) for values in tagged.values_list(*fields).iterator(chunk_size=2000)]
    return stats, source


def compute_recommendation(flow: Flow) -> Recommendation:
    stats, source = thread_stats(flow)
    return recommend(stats, source=source)


def _store_recommendation(flow: Flow, rec: Recommendation) -> None:
    flow.recommended_mode = rec.mode
    flow.recommendation = {**rec.as_json(), "computed_at": timezone.now().isoformat()}
    flow.save(update_fields=["recommended_mode", "recommendation", "updated_at"])


def refresh_recommendation(*, flow_id: int, actor) -> Flow:
    _require(actor, "core.change_flow", "recompute a flow's recommendation")
    with transaction.atomic():
        flow = Flow.objects.select_for_update().get(pk=flow_id)
        before = {"recommended_mode": flow.recommended_mode}
        _store_recommendation(flow, compute_recommendation(flow))
        audit.record(actor=actor, verb="migrator.flow.recommendation_refreshed", obj=flow, before=before,
                     after={"recommended_mode": flow.recommended_mode},
                     data={"threads": flow.recommendation.get("thread_count", 0)})
    return flow


# --- creating and editing ---------------------------------------------------------------------------------


def create_flow(*, assistant_id: int, slug: str, name: str, actor, description: str = "") -> Flow:
    _require(actor, "core.add_flow", "create flows")
    slug = (slug or "").strip().lower()
    name = (name or "").strip()
    if not SLUG_RE.match(slug) or len(slug) > 100:
        raise ServiceError("The slug must be lowercase letters, digits and single hyphens (e.g. 'checkout-help'), "
                           "at most 100 characters.")
    if not name:
        raise ServiceError("Give the flow a name.")
    with transaction.atomic():
        assistant = Assistant.objects.filter(pk=assistant_id).first()
        if assistant is None:
            raise ServiceError(f"Assistant #{assistant_id} does not exist.")
        if Flow.objects.filter(slug=slug).exists():
            raise ServiceError(f"A flow with the slug '{slug}' already exists; slugs are unique across assistants.")
        flow = Flow.objects.create(assistant=assistant, slug=slug, name=name[:200], description=description.strip())
        _store_recommendation(flow, compute_recommendation(flow))
        # New flows inherit the assistant's tool gate: tested tools stay tested.
        from migrator.tools.services import tool_gate

        if tool_gate(assistant).passed and toolset.tool_rows(assistant, toolset.latest_version(assistant)):
            flow.tools_tested_at = timezone.now()
            flow.save(update_fields=["tools_tested_at"])
        audit.record(actor=actor, verb="migrator.flow.created", obj=flow,
                     after={"slug": slug, "name": flow.name, "assistant": assistant.legacy_id,
                            "recommended_mode": flow.recommended_mode})
        # A new flow in planning holds the assistant back until it, too, is migrated (the one status rule).
        sync_assistant_with_flows(assistant_id=assistant.pk, actor=actor)
    return flow


def update_flow(*, flow_id: int, actor, name: str, description: str = "", streams: bool | None = None) -> Flow:
    """Name, description and whether production streams (``streams=None`` leaves it as it is)."""
    _require(actor, "core.change_flow", "edit flows")
    name = (name or "").strip()
    if not name:
        raise ServiceError("Give the flow a name.")
    with transaction.atomic():
        flow = Flow.objects.select_for_update().get(pk=flow_id)
        before = {"name": flow.name, "description": flow.description, "streams": flow.streams}
        flow.name, flow.description = name[:200], (description or "").strip()
        if streams is not None:
            flow.streams = bool(streams)
        flow.save(update_fields=["name", "description", "streams", "updated_at"])
        audit.record(actor=actor, verb="migrator.flow.updated", obj=flow, before=before,
                     after={"name": flow.name, "description": flow.description, "streams": flow.streams})
        if before["streams"] != flow.streams:
            # Streaming is part of the release: like a mode change, it voids evidence bound to the old release
            # and, on a live flow, makes a candidate; production keeps streaming (or not) until a cutover.
            flow_settings_changed.send(sender=Flow, flow=flow, before={"streams": before["streams"]},
                                       after={"streams": flow.streams}, actor=actor)
            _record_candidate(flow, actor=actor, why="production streaming " + ("on" if flow.streams else "off"))
    return flow


# --- the mode decision ------------------------------------------------------------------------------------


def choose_mode(
    *, flow_id: int, actor, mode: str, truncation: str, store: bool, reason: str = ""
) -> tuple[Flow, str]:
    """Record the flow's state mode, truncation and store. Returns (flow, "accepted" | "overridden").

    Taking the recommended mode is an acceptance (the recommendation's reason is kept unless one is given);
    any other mode is an override and needs a reason. Both are audited with the recommendation beside them.
    """
    _require(actor, "core.change_flow", "choose a flow's mode")
    if mode not in FlowMode.values:
        raise ServiceError(f"Unknown mode {mode!r}; choose one of: {', '.join(FlowMode.values)}.")
    if truncation not in TRUNCATIONS:
        raise ServiceError("Truncation must be 'auto' or 'disabled'.")
    reason = (reason or "").strip()
    if mode == FlowMode.PREVIOUS_RESPONSE and not store:
        raise ServiceError("previous_response_id chaining reads earlier responses from storage, so it needs "
                           "store=true.")
    with transaction.atomic():
        flow = Flow.objects.select_for_update().get(pk=flow_id)
        # Production never reads these working settings: it gets the release its rollout points at. On a live
        # flow the change makes a candidate release, which reaches production only through a cutover.
        decision = "accepted" if flow.recommended_mode and mode == flow.recommended_mode else "overridden"
        if decision == "overridden" and len(reason) < 5:
            raise ServiceError(
                "Say why you chose a different mode than recommended (a few words at least)."
                if flow.recommended_mode else "Say why you chose this mode (there was no recommendation)."
            )
        if decision == "accepted" and not reason:
            reason = str(flow.recommendation.get("reason") or "Accepted the recommendation.")
        before = _snapshot(flow)
        flow.mode, flow.truncation, flow.store, flow.mode_reason = mode, truncation, bool(store), reason
        flow.mode_chosen_at = timezone.now()
        flow.save(update_fields=["mode", "truncation", "store", "mode_reason", "mode_chosen_at", "updated_at"])
        audit.record(
            actor=actor,
            verb=f"migrator.flow.mode_{decision}",
            obj=flow,
            before=before,
            after=_snapshot(flow),
            data={"recommended_mode": flow.recommended_mode, "reason": reason},
        )
        flow_settings_changed.send(sender=Flow, flow=flow, before=before, after=_snapshot(flow), actor=actor)
        _record_candidate(flow, actor=actor, why=f"mode {mode}, truncation {truncation}, store "
                                                 f"{str(bool(store)).lower()}: {reason}")
    return flow, decision


def _record_candidate(flow: Flow, *, actor, why: str) -> None:
    """On a live flow, record the release the new settings make (a candidate; production is unchanged)."""
    from migrator.cutover.services import approved_version, releases

    served = releases.production_release(flow)
    version = approved_version(flow)
    if served is None or version is None:
        return
    spec = releases.spec_for(flow, version)
    if spec.hash != served.hash:
        releases.ensure_release(flow=flow, version=version, spec=spec, actor=actor, origin=why)


def mode_outcome(flow: Flow) -> dict:
    """What production serves and what is waiting, after a mode change (for pages and ``flow mode --json``)."""
    from migrator.cutover.services import releases

    served = releases.production_release(flow)
    return {"flow": flow.slug, "mode": flow.mode, "truncation": flow.truncation, "store": flow.store,
            "production_release": served.hash if served else None,
            "candidate_release": releases.candidate_release(flow)}


# --- status ----------------------------------------------------------------------------------------------
