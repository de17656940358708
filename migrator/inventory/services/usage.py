"""What matters: usage per assistant, its share of all traffic, and a suggested priority from that traffic.

Recomputed after every import from grouped aggregates (one query per figure family), and written with
``bulk_update`` only where a value changed, so an unchanged re-import writes nothing.

Suggested priority, Pareto-style: rank assistants by messages; those that together carry the first half of
all traffic are *critical*, those up to 80 % *high*, the rest with any traffic *normal*, and assistants with no
traffic at all *low*. The team can override it (``priority_overridden``); until then the priority follows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Avg, Count, Max, Q, Sum

from migrator.core.models import Assistant
from migrator.core.status import Priority
from migrator.inventory.models import LegacyRun, LegacyThread

CRITICAL_SHARE = 0.5
HIGH_SHARE = 0.8
USAGE_FIELDS = ("thread_count", "message_count", "run_count", "last_activity_at", "avg_turns_per_thread",
                "single_turn_share", "tool_call_counts", "traffic_share", "suggested_priority", "priority")


def suggest_priorities(message_counts: dict[int, int]) -> dict[int, str]:
    """Assistant pk → suggested priority from its message count (see the module docstring)."""
    total = sum(message_counts.values())
    ranked = sorted(message_counts.items(), key=lambda item: (-item[1], item[0]))
    suggested: dict[int, str] = {}
    carried = 0
    for pk, messages in ranked:
        if messages <= 0 or total == 0:
            suggested[pk] = Priority.LOW
        elif carried < CRITICAL_SHARE * total:
            suggested[pk] = Priority.CRITICAL
        elif carried < HIGH_SHARE * total:
            suggested[pk] = Priority.HIGH
        else:
            suggested[pk] = Priority.NORMAL
        carried += messages
    return suggested


def _tool_calls_by_assistant(legacy_to_pk: dict[str, int]) -> dict[int, dict[str, int]]:
    totals: dict[int, dict[str, int]] = {}
    runs = (LegacyRun.objects.exclude(tool_calls={}).exclude(assistant_legacy_id="")
            .values_list("assistant_legacy_id", "tool_calls"))
    for legacy_id, calls in runs.iterator(chunk_size=5000):
        pk = legacy_to_pk.get(legacy_id)
        if pk is None or not isinstance(calls, dict):
            continue
        bucket = totals.setdefault(pk, {})
        for tool, n in calls.items():
            bucket[tool] = bucket.get(tool, 0) + int(n)
    return {pk: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))) for pk, c in totals.items()}


@dataclass
class _Figures:
    thread_count: int = 0
    message_count: int = 0
    run_count: int = 0
    last_activity_at: datetime | None = None
    avg_turns_per_thread: float = 0.0
    single_turn_share: float = 0.0


def recompute_usage() -> int:
    """Recompute every assistant's usage figures, traffic share and suggested priority. Returns how many
    assistants changed."""
    figures: dict[int, _Figures] = {}
    per_thread = (
        LegacyThread.objects.filter(assistant__isnull=False).order_by().values("assistant")
        .annotate(threads=Count("pk"), messages=Sum("message_count"), last=Max("last_message_at"),
                  turns=Avg("user_turns"), single=Count("pk", filter=Q(user_turns__lte=1)))
    )
    for row in per_thread:
        threads = row["threads"] or 0
        figures[row["assistant"]] = _Figures(
            thread_count=threads,
            message_count=row["messages"] or 0,
            last_activity_at=row["last"],
            avg_turns_per_thread=round(float(row["turns"] or 0), 2),
            single_turn_share=round(row["single"] / threads, 4) if threads else 0.0,
        )
    legacy_to_pk = dict(Assistant.objects.values_list("legacy_id", "pk"))
    runs = (LegacyRun.objects.exclude(assistant_legacy_id="").order_by().values("assistant_legacy_id")
            .annotate(n=Count("pk")).values_list("assistant_legacy_id", "n"))
    for legacy_id, n in runs:
        pk = legacy_to_pk.get(legacy_id)
        if pk is not None:
            figures.setdefault(pk, _Figures()).run_count = n
    tool_calls = _tool_calls_by_assistant(legacy_to_pk)
    messages = {pk: figures[pk].message_count if pk in figures else 0 for pk in legacy_to_pk.values()}
    total = sum(messages.values())
    suggested = suggest_priorities(messages)

    changed = []
    for assistant in Assistant.objects.only("pk", "priority_overridden", *USAGE_FIELDS).iterator(chunk_size=2000):
        f = figures.get(assistant.pk, _Figures())
        wanted: dict[str, Any] = {
            "thread_count": f.thread_count,
            "message_count": f.message_count,
            "run_count": f.run_count,
            "last_activity_at": f.last_activity_at,
            "avg_turns_per_thread": f.avg_turns_per_thread,
            "single_turn_share": f.single_turn_share,
            "tool_call_counts": tool_calls.get(assistant.pk, {}),
            "traffic_share": round(f.message_count / total, 6) if total else 0.0,
            "suggested_priority": suggested.get(assistant.pk, Priority.LOW),
        }
        wanted["priority"] = assistant.priority if assistant.priority_overridden else wanted["suggested_priority"]
        if any(getattr(assistant, k) != value for k, value in wanted.items()):
            for k, value in wanted.items():
                setattr(assistant, k, value)
            changed.append(assistant)
    if changed:
        with transaction.atomic():
            Assistant.objects.bulk_update(changed, list(USAGE_FIELDS), batch_size=500)
    return len(changed)


def pareto(rows: list[tuple[Any, int]]) -> dict[str, Any]:
    """For the usage chart: (label, messages) rows → cumulative shares and how few carry 80 % of traffic."""
    ordered = sorted(rows, key=lambda r: -r[1])
    total = sum(n for _, n in ordered)
    points = []
    carried = 0
    needed_for_80 = 0
    for label, n in ordered:
        carried += n
        share = n / total if total else 0.0
        cumulative = carried / total if total else 0.0
        if total and needed_for_80 == 0 and cumulative >= HIGH_SHARE:
            needed_for_80 = len(points) + 1
        points.append({"label": label, "messages": n, "share": share, "cumulative": cumulative})
    return {"points": points, "total": total, "needed_for_80": needed_for_80, "count": len(ordered)}
