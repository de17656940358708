"""Sentences for the retirement app's audit verbs (autodiscovered by migrator.core.activity)."""

from __future__ import annotations

from django.utils.safestring import SafeString

from migrator.core.activity import EventView, register, say


@register("migrator.catalogue.synced")
def synced(e: EventView) -> SafeString:
    notices = len(e.data.get("notices") or [])
    return say("{actor} synced the model catalogue ({models} models, {notices} new notice(s)).", actor=e.actor,
               models=str(e.data.get("models", "?")), notices=str(notices))


@register("migrator.catalogue.changed")
def changed(e: EventView) -> SafeString:
    flows = ", ".join(e.data.get("flows") or []) or "no flow"
    return say("The model catalogue changed for {model}: {before} → {after} (affects {flows}).",
               model=str(e.data.get("model", "")), before=str(e.before.get("value") or "none"),
               after=str(e.after.get("value") or "none"),
               flows=flows)


@register("migrator.catalogue.notice_acknowledged")
def acknowledged(e: EventView) -> SafeString:
    return say("{actor} acknowledged the catalogue notice {obj}.", actor=e.actor, obj=e.obj)


@register("migrator.autopilot.enrolled")
def enrolled(e: EventView) -> SafeString:
    scope = "every flow" if e.after.get("scope") == "all" else "the flow {obj}"
    state = "on" if e.after.get("enabled") else "off"
    return say("{actor} turned the autopilot " + state + " for " + scope + " ({days} days before a shutdown).",
               actor=e.actor, obj=e.obj, days=str(e.after.get("days_before", "?")))


@register("migrator.autopilot.ran")
def ran(e: EventView) -> SafeString:
    flows = e.data.get("flows") or []
    return say("The retirement autopilot ran as of {day} (asked by {who}): {n} flow(s) acted on.",
               day=str(e.data.get("as_of", "")), who=str(e.data.get("asked_by", "")), n=str(len(flows)))


@register("migrator.autopilot.candidate_created")
def candidate_created(e: EventView) -> SafeString:
    return say("{actor} put {obj} on {successor} as v{version}: {model} shuts down on {when}.", actor=e.actor,
               obj=e.obj, successor=str(e.data.get("successor", "")), version=str(e.data.get("version", "")),
               model=str(e.data.get("model", "")), when=str(e.data.get("shutdown_date", "")))


@register("migrator.autopilot.request_filed")
def request_filed(e: EventView) -> SafeString:
    return say("{actor} filed cutover request #{request} for {obj} (v{version}, validation run #{run} passed).",
               actor=e.actor, obj=e.obj, request=str(e.data.get("request_id", "")),
               version=str(e.data.get("version", "")), run=str(e.data.get("validation_run", "")))


@register("migrator.prompt.successor_proposed")
def successor_proposed(e: EventView) -> SafeString:
    return say("{actor} proposed {obj}: v{before} moved from {old} to its successor {new}.", actor=e.actor,
               obj=e.obj, before=str(e.before.get("version", "")), old=str(e.before.get("model", "")),
               new=str(e.after.get("model", "")))
