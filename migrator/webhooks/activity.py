"""Sentences for the webhooks app's audit verbs (autodiscovered by migrator.core.activity)."""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import SafeString

from migrator.core.activity import EMPTY, EventView, register, say


def _events(values) -> SafeString:
    names = [str(v) for v in values or []]
    return format_html("{}", ", ".join(names)) if names else format_html("{}", "no events")


@register("migrator.webhook.created")
def created(e: EventView) -> SafeString:
    return say("{actor} added the webhook endpoint {obj} for {events}.", actor=e.actor, obj=e.obj,
               events=_events(e.after.get("events")))


@register("migrator.webhook.changed")
def changed(e: EventView) -> SafeString:
    fields = [k.replace("_", " ") for k in ("name", "url", "events", "is_active", "description")
              if e.before.get(k) != e.after.get(k)]
    what = format_html(" ({})", ", ".join(fields)) if fields else EMPTY
    return say("{actor} changed the webhook endpoint {obj}{what}.", actor=e.actor, obj=e.obj, what=what)


@register("migrator.webhook.enabled")
def enabled(e: EventView) -> SafeString:
    return say("{actor} enabled the webhook endpoint {obj}.", actor=e.actor, obj=e.obj)


@register("migrator.webhook.disabled")
def disabled(e: EventView) -> SafeString:
    return say("{actor} disabled the webhook endpoint {obj}; its pending deliveries will not be sent.",
               actor=e.actor, obj=e.obj)


@register("migrator.webhook.secret_rotated")
def rotated(e: EventView) -> SafeString:
    return say("{actor} rotated the signing secret of {obj} (the old one signs too for a day).", actor=e.actor,
               obj=e.obj)


@register("migrator.webhook.deleted")
def deleted(e: EventView) -> SafeString:
    return say("{actor} deleted the webhook endpoint {obj} and its log of {n} deliveries.", actor=e.actor, obj=e.obj,
               n=e.data.get("deliveries", 0))


@register("migrator.webhook.test_sent")
def test_sent(e: EventView) -> SafeString:
    return say("{actor} sent a test event to {obj}.", actor=e.actor, obj=e.obj)


@register("migrator.webhook.redelivered")
def redelivered(e: EventView) -> SafeString:
    return say("{actor} redelivered an event to {obj} (delivery #{of} again as #{new}).", actor=e.actor, obj=e.obj,
               of=e.data.get("of", "?"), new=e.data.get("delivery", "?"))
