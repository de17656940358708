from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def share(value) -> str:
    """0.25 → '25%'; unlike core's ``percent``, a real 0 shows as '0%' (it is evidence, not a missing value)."""
    try:
        return f"{round(100 * float(value))}%"
    except (TypeError, ValueError):
        return "—"
