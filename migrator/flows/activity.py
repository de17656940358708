"""Sentences for the flows app's audit verbs (autodiscovered by migrator.core.activity)."""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import SafeString

from migrator.core.activity import EMPTY, EventView, label_of_choice, register, say
from migrator.core.status import FlowMode


def mode_words(value) -> str:
    return label_of_choice(FlowMode, value) if value else "no mode"


@register("migrator.flow.created")
def created(e: EventView) -> SafeString:
    return say("{actor} created the flow {obj}.", actor=e.actor, obj=e.obj)


@register("migrator.flow.updated")
def updated(e: EventView) -> SafeString:
    return say("{actor} edited the name or description of {obj}.", actor=e.actor, obj=e.obj)


@register("migrator.flow.recommendation_refreshed")
def refreshed(e: EventView) -> SafeString:
    return say("{actor} refreshed the state-mode recommendation of {obj} from {n} threads: {mode}.", actor=e.actor,
               obj=e.obj, n=e.data.get("threads", 0), mode=mode_words(e.after.get("recommended_mode")))


@register("migrator.flow.mode_*")
def mode(e: EventView) -> SafeString:
    decision = e.verb.rsplit("_", 1)[-1]
    chosen = mode_words(e.after.get("mode"))
    reason = e.data.get("reason")
    why = format_html(": “{}”", reason) if reason else EMPTY
    if decision == "accepted":
        return say("{actor} accepted the recommended state mode for {obj}, <strong>{mode}</strong>{why}.",
                   actor=e.actor, obj=e.obj, mode=chosen, why=why)
    recommended = e.data.get("recommended_mode")
    against = format_html(" instead of the recommended {}", mode_words(recommended)) if recommended else EMPTY
    return say("{actor} chose <strong>{mode}</strong> for {obj}{against}{why}.", actor=e.actor, mode=chosen, obj=e.obj,
               against=against, why=why)


@register("migrator.flow.step_*")
def step(e: EventView) -> SafeString:
    done = e.verb.endswith("_done")
    fields = list(e.after) or list(e.before)
    name = (fields[0] if fields else "a step").removesuffix("_at").replace("_", " ")
    reason = e.data.get("reason")
    why = format_html(" ({})", reason) if reason else EMPTY
    return say("{actor} marked “{step}” {state} on {obj}{why}.", actor=e.actor, step=name,
               state="done" if done else "not done", obj=e.obj, why=why)


@register("migrator.apitoken.created")
def token_created(e: EventView) -> SafeString:
    return say("{actor} created the API token {obj}.", actor=e.actor, obj=e.obj)


@register("migrator.apitoken.revoked")
def token_revoked(e: EventView) -> SafeString:
    reason = e.data.get("reason")
    why = format_html(" ({})", reason) if reason else EMPTY
    return say("{actor} revoked the API token {obj}{why}.", actor=e.actor, obj=e.obj, why=why)
