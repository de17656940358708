"""``{% recorded_calls_for assistant row as calls %}``: recorded calls of a function tool (tool cards)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag
def recorded_calls_for(assistant, row):
    from migrator.tools.recorded_calls import recorded_calls

    new = getattr(row, "new", None) or {}
    if new.get("type") != "function" or not new.get("name"):
        return []
    return recorded_calls(assistant, new["name"])
