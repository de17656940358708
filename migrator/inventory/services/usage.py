"""What matters: usage per assistant, its share of all traffic, and a suggested priority from that traffic.

Recomputed after every import from grouped aggregates (one query per figure family), and written with
``bulk_update`` only where a value changed, so an unchanged re-import writes nothing.

Suggested priority, Pareto-style: rank assistants by messages; those that together carry the first half of
all traffic are *critical*, those up to 80 % *high*, the rest with any traffic *normal*, and assistants with no
traffic at all *low*. The team can override it (``priority_overridden``); until then the priority follows it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Avg, Count, F, FloatField, Max, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce

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


def _per_assistant(queryset, aggregate) -> Subquery:
    return Subquery(queryset.filter(assistant=OuterRef("pk")).order_by().values("assistant")
                    .annotate(value=aggregate).values("value")[:1])


def recompute_usage() -> int:
    """Recompute every assistant's usage figures, traffic share and suggested priority, as a handful of
    set-based UPDATEs (correlated subqueries), plus keyed updates for what changed in tool-call counts and
    priorities. Returns how many assistants got a new suggested priority or tool-call count."""
    threads = LegacyThread.objects.all()
    runs = (LegacyRun.objects.filter(assistant_legacy_id=OuterRef("legacy_id")).order_by()
            .values("assistant_legacy_id").annotate(n=Count("pk")).values("n")[:1])
    with transaction.atomic():
        Assistant.objects.update(
            thread_count=Coalesce(_per_assistant(threads, Count("pk")), 0),
            message_count=Coalesce(_per_assistant(threads, Sum("message_count")), 0),
            last_activity_at=_per_assistant(threads, Max("last_message_at")),
            avg_turns_per_thread=Coalesce(_per_assistant(threads, Avg("user_turns")), 0.0,
                                          output_field=FloatField()),
            single_turn_share=Coalesce(
                _per_assistant(threads, Cast(Count("pk", filter=Q(user_turns__lte=1)), FloatField())
                               / Cast(Count("pk"), FloatField())), 0.0, output_field=FloatField()),
            run_count=Coalesce(Subquery(runs), 0),
        )
        total = Assistant.objects.aggregate(total=Sum("message_count"))["total"] or 0
        Assistant.objects.update(
            traffic_share=Cast(F("message_count"), FloatField()) / float(total) if total else Value(0.0)
        )
        changed: set[int] = set()
        # Suggested priority needs the ranking, so it is computed here and written per level.
        counts = dict(Assistant.objects.values_list("pk", "message_count"))
        by_level: dict[str, list[int]] = {}
        for pk, level in suggest_priorities(counts).items():
            by_level.setdefault(level, []).append(pk)
        for level, pks in by_level.items():
            for start in range(0, len(pks), 500):
                chunk = pks[start : start + 500]
                stale = list(Assistant.objects.filter(pk__in=chunk).exclude(suggested_priority=level)
                             .values_list("pk", flat=True))
                if stale:
                    Assistant.objects.filter(pk__in=stale).update(suggested_priority=level)
                    changed.update(stale)
        # Until the team overrides it, the priority is the suggestion.
        Assistant.objects.filter(priority_overridden=False).exclude(priority=F("suggested_priority")).update(
            priority=F("suggested_priority")
        )
        legacy_to_pk = dict(Assistant.objects.values_list("legacy_id", "pk"))
        calls = _tool_calls_by_assistant(legacy_to_pk)
        updates = []
        for pk, current in Assistant.objects.values_list("pk", "tool_call_counts").iterator(chunk_size=5000):
            wanted = calls.get(pk, {})
            if current != wanted:
                updates.append((wanted, pk))
                changed.add(pk)
        sql.update_rows(Assistant, ["tool_call_counts"], updates)
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
