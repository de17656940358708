"""Sentences for the tools app's audit verbs (autodiscovered by migrator.core.activity)."""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import SafeString

from migrator.core.activity import EMPTY, EventView, register, say


@register("migrator.flow.tools_tested")
def tools_tested(e: EventView) -> SafeString:
    return say("Every tool of {obj} passed its test ({n} tools); the checklist step is ticked.", obj=e.obj,
               n=e.data.get("tools", 0))


@register("migrator.flow.tools_untested")
def tools_untested(e: EventView) -> SafeString:
    return say("The tools step of {obj} was unticked: {reason}.", obj=e.obj,
               reason=e.data.get("reason") or "a tool test failed")


@register("migrator.tool.test_*")
def tool_test(e: EventView) -> SafeString:
    status = e.verb.rsplit("_", 1)[-1]
    words = {"passed": "passed", "failed": "failed", "error": "could not run", "skipped": "was skipped"}
    summary = e.data.get("summary")
    tail = format_html(": {}", summary) if summary else EMPTY
    return say("{actor} tested the tool {tool} of {obj} on {conn}: it {result}{tail}.", actor=e.actor,
               tool=e.data.get("tool", "?"), obj=e.obj, conn=e.data.get("connection", "a connection"),
               result=words.get(status, status), tail=tail)
