from __future__ import annotations

from datetime import date

from django import template

from migrator.retirement.services.exposure import FlowDeadline

register = template.Library()


@register.filter
def days_left_on(deadline: FlowDeadline | None, today: date) -> int | None:
    return deadline.days_left(today) if deadline is not None else None


@register.filter
def late_on(deadline: FlowDeadline | None, today: date) -> bool:
    return deadline.late(today) if deadline is not None else False
