"""What matters: usage per assistant, its share of all traffic, and a suggested priority from that traffic.

Recomputed after every import from grouped aggregates, and written only where a value changed, so an
unchanged re-import writes nothing.

Suggested priority, Pareto-style: rank assistants by messages; those that together carry the first half of
all traffic are *critical*, those up to 80 % *high*, the rest with any traffic *normal*, and assistants with no
traffic at all *low*. The team can override it (``priority_overridden``); until then the priority follows it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Avg, Count, Max, Q, Sum

from migrator.core.models import Assistant
from migrator.core.status import Priority
from migrator.inventory.models import LegacyRun, LegacyThread
from migrator.inventory.services import sql

CRITICAL_SHARE = 0.5
HIGH_SHARE = 0.8


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


USAGE = ("thread_count", "message_count", "run_count", "last_activity_at", "avg_turns_per_thread",
         "single_turn_share", "traffic_share", "suggested_priority", "priority", "tool_call_counts")


def recompute_usage() -> int:
    """Recompute every assistant's usage figures, traffic share, suggested priority and tool-call counts.

    Three grouped aggregates (threads by assistant, runs by assistant, tool calls) and one read of the current
    values; the figures are computed here and only the assistants whose values changed are written, each
    row once, in keyed batches. Each UPDATE of an assistant rewrites its row and every index on it (the search
    indexes included), so a table-wide UPDATE per figure family cost four rewrites of every assistant per
    import, most of them writing what was already there. Returns how many assistants got a new suggested
    priority or tool-call count."""
    threads = {
        row["assistant"]: row
        for row in LegacyThread.objects.filter(assistant__isnull=False).order_by().values("assistant")
        .annotate(threads=Count("pk"), messages=Sum("message_count"), last=Max("last_message_at"),
                  turns=Avg("user_turns"), single=Count("pk", filter=Q(user_turns__lte=1)))
    }
    runs = dict(LegacyRun.objects.exclude(assistant_legacy_id="").order_by().values("assistant_legacy_id")
                .annotate(n=Count("pk")).values_list("assistant_legacy_id", "n"))
    current = list(Assistant.objects.order_by().values_list("pk", "legacy_id", "priority_overridden", *USAGE))
    counts = {pk: (threads[pk]["messages"] or 0) if pk in threads else 0 for pk, *_ in current}
    total = sum(counts.values())
    suggested = suggest_priorities(counts)
    calls = _tool_calls_by_assistant({legacy_id: pk for pk, legacy_id, *_ in current})
    changed: set[int] = set()
    updates = []
    for pk, legacy_id, overridden, *values in current:
        row = threads.get(pk)
        n = row["threads"] if row else 0
        wanted = {
            "thread_count": n,
            "message_count": counts[pk],
            "run_count": runs.get(legacy_id, 0),
            "last_activity_at": row["last"] if row else None,
            "avg_turns_per_thread": float(row["turns"] or 0.0) if row else 0.0,
            "single_turn_share": row["single"] / n if n else 0.0,
            "traffic_share": counts[pk] / total if total else 0.0,
            "suggested_priority": suggested[pk],
            "tool_call_counts": calls.get(pk, {}),
        }
        # Until the team overrides it, the priority is the suggestion.
        now = dict(zip(USAGE, values, strict=True))
        wanted["priority"] = now["priority"] if overridden else suggested[pk]
        if any(_differs(now[f], wanted[f]) for f in USAGE):
            updates.append((*(wanted[f] for f in USAGE), pk))
        if now["suggested_priority"] != wanted["suggested_priority"] or now["tool_call_counts"] != wanted[
            "tool_call_counts"
        ]:
            changed.add(pk)
    with transaction.atomic():
        sql.update_rows(Assistant, list(USAGE), updates)
    return len(changed)


def _differs(now: Any, wanted: Any) -> bool:
    """Floats computed in SQL before and in Python now may differ in the last bit: that is not a change."""
    if isinstance(wanted, float) and isinstance(now, float):
        return abs(now - wanted) > 1e-12
    return now != wanted


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
