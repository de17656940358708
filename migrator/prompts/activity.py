"""Sentences for the prompts app's audit verbs (autodiscovered by migrator.core.activity)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from migrator.core.activity import EMPTY, EventView, register, say
from migrator.core.jobreports import register_report
from migrator.core.templatetags.migrator_tags import count


def _version(e: EventView, number=None) -> SafeString:
    number = number if number is not None else (e.data.get("version") or e.after.get("version"))
    text = f"v{number}" if number is not None else (e.event.object_repr or "a version")
    return e.link(text)


@register("migrator.prompt.generated")
def generated(e: EventView) -> SafeString:
    drift = e.data.get("drift")
    if drift:
        return say("{actor} regenerated the prompt of {assistant} as {v} after upstream drift in {fields}.",
                   actor=e.actor, assistant=e.assistant(), v=_version(e), fields=", ".join(drift))
    model = e.after.get("model")
    on = format_html(" on {}", model) if model else EMPTY
    return say("{actor} generated prompt {v} of {assistant}{on}.", actor=e.actor, v=_version(e),
               assistant=e.assistant(), on=on)


@register("migrator.prompt.edited")
def edited(e: EventView) -> SafeString:
    message = e.data.get("message")
    tail = format_html(": “{}”", message) if message else EMPTY
    return say("{actor} saved {v} of {assistant} (from v{parent}){tail}.", actor=e.actor, v=_version(e),
               assistant=e.assistant(), parent=e.before.get("version", "?"), tail=tail)


@register("migrator.prompt.approved")
def approved(e: EventView) -> SafeString:
    return say("{actor} approved {v} of {assistant}.", actor=e.actor, v=_version(e), assistant=e.assistant())


@register("migrator.prompt.commented")
def commented(e: EventView) -> SafeString:
    return say("{actor} commented on {v} of {assistant}.", actor=e.actor, v=e.link(e.event.object_repr or "a version"),
               assistant=e.assistant())


@register("migrator.prompt.label_moved")
def label_moved(e: EventView) -> SafeString:
    label = e.after.get("label") or e.before.get("label") or "a label"
    number = e.data.get("version")
    url = reverse("prompts:assistant_prompt", args=[e.event.object_id]) + (f"?v={number}" if number else "") \
        if str(e.event.object_id).isdigit() else ""
    reason = e.data.get("reason")
    why = format_html(" ({})", reason) if reason and reason not in ("generated", "edited", "approved") else EMPTY
    return say("{actor} pointed <strong>{label}</strong> of {obj} at {v}{why}.", actor=e.actor, label=label,
               obj=e.obj, v=e.link(f"v{number}" if number else "a version", url), why=why)


@register("migrator.prompt.regeneration_failed")
def regeneration_failed(e: EventView) -> SafeString:
    errors = e.data.get("errors") or []
    return say("The upstream definition of {obj} changed ({fields}) but could not be converted: {error}", obj=e.obj,
               fields=", ".join(e.data.get("changed_fields") or []) or "unknown fields",
               error=errors[0] if errors else "no reason recorded.")


@register("migrator.prompt.review_requested")
def review_requested(e: EventView) -> SafeString:
    note = e.data.get("note")
    tail = format_html(": “{}”", note) if note else EMPTY
    return say("{actor} asked {who} to review {v} of {assistant}{tail}.", actor=e.actor,
               who=e.after.get("reviewer", "a product owner"), v=_version(e), assistant=e.assistant(), tail=tail)


@register("migrator.prompt.review_withdrawn")
def review_withdrawn(e: EventView) -> SafeString:
    return say("{actor} withdrew the review request for {v} of {assistant}.", actor=e.actor, v=_version(e),
               assistant=e.assistant())


# Job parameters and results of Try it (migrator.core.jobreports). ------------------------------------------
def _try_params(job) -> SafeString:
    from migrator.core.models import Connection
    from migrator.prompts.models import PromptVersion

    params = job.params or {}
    version = PromptVersion.objects.select_related("assistant").filter(pk=params.get("version_id")).first()
    connection = Connection.objects.filter(pk=params.get("connection_id")).first()
    what = format_html('<a href="{}">v{} of {}</a>', version.get_absolute_url(), version.number,
                       version.assistant.display_name) if version else format_html("{}", "a version that no longer exists")
    turn = int(params.get("turn") or 1)
    outputs = [i for i in params.get("input_items") or [] if i.get("type") == "function_call_output"]
    said = format_html(" with the input “{}”", params["input"]) if params.get("input") else EMPTY
    typed = format_html(" and {} typed by hand", count(len(outputs), "tool output")) if outputs else EMPTY
    earlier = format_html(" (turn {} of the conversation)", turn) if turn > 1 else EMPTY
    return format_html("Send {} to {}{}{}{}.", what, connection.name if connection else "a connection", said, typed,
                       earlier)


register_report("prompts.try_version", params=_try_params, template="prompts/_try_report.html")
