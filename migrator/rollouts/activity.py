"""Sentences for the rollouts app's audit verbs (autodiscovered by migrator.core.activity)."""

from __future__ import annotations

from django.utils.safestring import SafeString

from migrator.core.activity import EventView, register, say


@register("migrator.rollouts.guard_set")
def guard_set(e: EventView) -> SafeString:
    return say("{actor} set the rollout guard of {obj}: {action} on a breach, after at least {n} outcomes.",
               actor=e.actor, obj=e.obj, action=str(e.after.get("action") or "pause"),
               n=str(e.after.get("min_sample", "?")))


@register("migrator.rollouts.guard_breached")
def guard_breached(e: EventView) -> SafeString:
    action = "rolled it back" if e.data.get("action") == "rollback" else "paused its ramp"
    return say("The rollout guard of {obj} found {metric} worse on the candidate at {percent:g}% and " + action + ".",
               obj=e.obj, metric=str(e.data.get("metric") or "a metric"), percent=float(e.data.get("percent") or 0))


@register("migrator.rollouts.breach_acknowledged")
def breach_acknowledged(e: EventView) -> SafeString:
    return say("{actor} acknowledged the guard breach on {metric} for {obj}.", actor=e.actor, obj=e.obj,
               metric=str(e.data.get("metric") or "a metric"))


@register("migrator.rollouts.shadow_set")
def shadow_set(e: EventView) -> SafeString:
    share = float(e.after.get("share") or 0)
    if share <= 0:
        return say("{actor} stopped the shadow run of {obj}.", actor=e.actor, obj=e.obj)
    return say("{actor} shadowed {share:g}% of {obj}'s requests on the candidate (nothing shown to users).",
               actor=e.actor, obj=e.obj, share=share)


@register("migrator.rollouts.alert_paused")
def alert_paused(e: EventView) -> SafeString:
    return say("The rollout guard paused the ramp of {obj} at {percent:g}% on an OpenAI alert: {summary}.",
               obj=e.obj, percent=float(e.data.get("percent") or 0), summary=str(e.data.get("summary") or ""))
