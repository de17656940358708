"""Numbers for people: the one set of filters every template uses (a builtin, no ``{% load %}`` needed).

- ``num``: whole numbers with thousands separators (12,345), other numbers with one decimal (6.1)
- ``percent``: a share 0..1 as "12.3%"
- ``bytes``: 22407093 → "21.4 MB"
- ``duration``: seconds → "850 ms", "4.2 s", "3 min 12 s", "2 h 5 min", "3 d 4 h"
- ``ms``: milliseconds → the same wording as ``duration``
- ``count``: ``n|count:"thread"`` → "1 thread", "1,204 threads"
Missing values show as "—" so a blank never looks like a zero.
"""

from __future__ import annotations

import json
import math
from numbers import Number

from django import template

register = template.Library()

DASH = "—"


def _number(value) -> float | int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, Number):
        return value  # type: ignore[return-value]
    try:
        text = str(value).strip()
        return int(text) if text.lstrip("-").isdigit() else float(text)
    except (TypeError, ValueError):
        return None


@register.filter
def num(value, digits: int = 1) -> str:
    """1234 → '1,234'; 6.142857 → '6.1'; 7.0 → '7'; None → '—'."""
    number = _number(value)
    if number is None or (isinstance(number, float) and not math.isfinite(number)):
        return DASH if number is None else str(number)
    if isinstance(number, int) or float(number).is_integer():
        return f"{int(number):,}"
    return f"{number:,.{int(digits)}f}"


@register.filter
def percent(value, digits: int = 1) -> str:
    """0.1234 → '12.3%'; 0 → '0%'; None → '—'."""
    number = _number(value)
    if number is None:
        return DASH
    scaled = 100 * float(number)
    if scaled == 0:
        return "0%"
    return f"{scaled:.{int(digits)}f}%"


@register.filter(name="bytes")
def human_bytes(value) -> str:
    """22407093 → '21.4 MB' (binary multiples, as file browsers show them)."""
    number = _number(value)
    if number is None:
        return DASH
    size = float(number)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(size) < 1024 or unit == "TB":
            if unit == "bytes":
                return f"{int(size):,} byte{'s' if int(size) != 1 else ''}"
            return f"{size:,.1f} {unit}"
        size /= 1024
    return DASH  # unreachable


@register.filter
def duration(seconds) -> str:
    """Seconds as people say them: '850 ms', '4.2 s', '3 min 12 s', '2 h 5 min', '3 d 4 h'."""
    number = _number(seconds)
    if number is None:
        return DASH
    value = float(number)
    if value < 1:
        return f"{round(value * 1000):,} ms"
    if value < 60:
        return f"{value:.1f} s"
    whole = round(value)
    if whole < 3600:
        minutes, secs = divmod(whole, 60)
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    if whole < 86400:
        hours, rest = divmod(whole, 3600)
        return f"{hours} h {rest // 60} min" if rest // 60 else f"{hours} h"
    days, rest = divmod(whole, 86400)
    return f"{days:,} d {rest // 3600} h" if rest // 3600 else f"{days:,} d"


@register.filter
def ms(milliseconds) -> str:
    """Milliseconds in the same words as ``duration``: 340 → '340 ms', 1530 → '1.5 s'."""
    number = _number(milliseconds)
    return DASH if number is None else duration(float(number) / 1000)


@register.filter
def count(value, noun: str = "") -> str:
    """``3|count:"thread"`` → '3 threads'; ``1|count:"reply,replies"`` → '1 reply'."""
    number = _number(value)
    singular, _, plural = noun.partition(",")
    plural = plural or (singular + "s")
    if number is None:
        return f"{DASH} {plural}".strip()
    return f"{num(number)} {singular if number == 1 else plural}".strip()


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


@register.filter
def sentences(events):
    """Audit events → feed entries with a sentence each (``{% for e in events|sentences %}{{ e.sentence }}``)."""
    from migrator.core.activity import present

    return present(events or [])


@register.filter
def job_params(job):
    """A job's parameters as a sentence (or a short list), from the kind's registered report."""
    from migrator.core.jobreports import params_html

    return params_html(job)


@register.filter
def shown_params(params):
    """A job's parameters without server-side file paths (``{{ job.params|shown_params|pretty_json }}``)."""
    from migrator.core.jobreports import shown_params as shown

    return shown(params)


@register.simple_tag(takes_context=True)
def job_report(context, job):
    """``{% job_report job %}``: a job's result as tables and sentences (with forms, e.g. continue a try)."""
    from migrator.core.jobreports import result_html

    return result_html(job, context.get("request"))


@register.simple_tag
def page_url(key: str, *args: object) -> str:
    """``{% page_url "flow_list" %}``: a page another app declared in its ``tabs.PAGES`` ("" when none has it)."""
    from migrator.core.navigation import page_url as lookup

    return lookup(key, *args) or ""
