"""Sentences for the cutover app's audit verbs (autodiscovered by migrator.core.activity)."""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import SafeString

from migrator.core.activity import EMPTY, EventView, register, say


def _why(e: EventView, key: str = "reason") -> SafeString:
    reason = str(e.data.get(key) or "").strip().rstrip(".")
    return format_html(": “{}”", reason) if reason else EMPTY


@register("migrator.cutover.requested")
def requested(e: EventView) -> SafeString:
    note = str(e.data.get("note") or "").strip().rstrip(".")
    return say("{actor} asked to cut {obj} over to v{v}{note}.", actor=e.actor, obj=e.obj,
               v=e.after.get("version", "?"), note=format_html(": “{}”", note) if note else EMPTY)


@register("migrator.cutover.withdrawn")
def withdrawn(e: EventView) -> SafeString:
    return say("{actor} withdrew the cutover request for {obj}{why}.", actor=e.actor, obj=e.obj, why=_why(e))


@register("migrator.cutover.approved")
def approved(e: EventView) -> SafeString:
    return say("{actor} approved the cutover of {obj} to v{v}{why}.", actor=e.actor, obj=e.obj,
               v=e.data.get("version", "?"), why=_why(e))


@register("migrator.cutover.declined")
def declined(e: EventView) -> SafeString:
    return say("{actor} declined the cutover of {obj} to v{v}{why}.", actor=e.actor, obj=e.obj,
               v=e.data.get("version", "?"), why=_why(e))


@register("migrator.cutover.ramped")
def ramped(e: EventView) -> SafeString:
    return say("{actor} moved {obj} from {a:g}% to <strong>{b:g}%</strong> of traffic on v{v}{why}.", actor=e.actor,
               obj=e.obj, a=float(e.before.get("percent") or 0), b=float(e.after.get("percent") or 0),
               v=e.data.get("version", "?"), why=_why(e))


@register("migrator.cutover.completed")
def completed(e: EventView) -> SafeString:
    before = e.before.get("version")
    was = format_html(" (from v{})", before) if before else EMPTY
    return say("{actor} completed the cutover: {obj} serves v{v} to all traffic{was}{why}.", actor=e.actor, obj=e.obj,
               v=e.after.get("version", "?"), was=was, why=_why(e))


@register("migrator.cutover.rolled_back")
def rolled_back(e: EventView) -> SafeString:
    to = e.after.get("version")
    target = format_html("v{}", to) if to else format_html("{}", "the legacy assistant")
    return say("{actor} rolled {obj} back from v{a} to {b}{why}.", actor=e.actor, obj=e.obj,
               a=e.before.get("version", "?"), b=target, why=_why(e))


@register("migrator.cutover.voided")
def voided(e: EventView) -> SafeString:
    return say("The cutover request for {obj} was voided{why}.", obj=e.obj, why=_why(e, "why"))


@register("migrator.cutover.stopped_serving")
def stopped_serving(e: EventView) -> SafeString:
    return say("{actor} stopped serving {obj} (v{a}): production now gets 409 not_cut_over{why}.", actor=e.actor,
               obj=e.obj, a=e.before.get("version", "?"), why=_why(e))


@register("migrator.release.candidate")
def release_candidate(e: EventView) -> SafeString:
    short = str(e.after.get("candidate_release") or "")[:12]
    return say("{actor} made release {release} of {obj} a candidate (v{v}, {mode}); production is unchanged until "
               "a cutover reaches it{why}.", actor=e.actor, obj=e.obj, release=short or "?",
               v=e.data.get("version", "?"), mode=str(e.data.get("mode") or "?"), why=_why(e))
