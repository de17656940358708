"""What matters: usage per assistant, its share of all traffic, and a suggested priority from that traffic.

Recomputed after every import from grouped aggregates, and written only where a value changed, so an
unchanged re-import writes nothing.

Suggested priority, Pareto-style: rank assistants by messages; those that together carry the first half of
all traffic are *critical*, those up to 80 % *high*, the rest with any traffic *normal*, and assistants with no
traffic at all *low*. The team can override it (``priority_overridden``); until then the priority follows it.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from django.db import connection, transaction
from django.db.models import Avg, Count, Max, Q, Sum

from migrator.core.models import Assistant
from migrator.core.status import Priority
from migrator.inventory.models import LegacyRun, LegacyThread
from migrator.inventory.services import sql

CRITICAL_SHARE = 0.5
HIGH_SHARE = 0.8


def suggest_priorities(message_counts: dict[int, int]) -> dict[int, str]:
    """Assistant pk → suggested priority from its message count (see the module docstring). The definition;
    :func:`recompute_usage` computes the same a chunk of assistants at a time (:class:`_Ranking`)."""
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
    """Tool calls by tool for these assistants (their runs' counts summed), most used first."""
    totals: dict[int, dict[str, int]] = {}
    runs = (LegacyRun.objects.filter(assistant_legacy_id__in=list(legacy_to_pk)).exclude(tool_calls={})
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
CHUNK = 1000  # assistants read, computed and written at a time


class _Ranking:
    """:func:`suggest_priorities` for assistants met one by one in pk order, from a histogram of message totals.

    Ranked by (messages descending, pk), an assistant with m messages follows every assistant with more, and
    the k assistants with exactly m and a smaller pk: the traffic carried before it is (traffic of those with
    more) + m·k. So the histogram (one row per distinct total, at most about √(2·messages) of them) and a
    counter per total replace a dict of every assistant's count, and memory does not grow with assistants."""

    def __init__(self, histogram: dict[int, int]) -> None:
        self.totals = sorted(histogram)
        self.above = [0] * (len(self.totals) + 1)  # above[i]: traffic of those with totals[i] messages or more
        for i in range(len(self.totals) - 1, -1, -1):
            m = self.totals[i]
            self.above[i] = self.above[i + 1] + m * histogram[m]
        self.total = self.above[0]
        self.met: dict[int, int] = {}

    def next(self, messages: int) -> str:
        """The suggestion for the next assistant in pk order, which carries ``messages``."""
        if messages <= 0 or self.total == 0:
            return Priority.LOW
        k = self.met.get(messages, 0)
        self.met[messages] = k + 1
        carried = self.above[bisect_right(self.totals, messages)] + messages * k
        if carried < CRITICAL_SHARE * self.total:
            return Priority.CRITICAL
        if carried < HIGH_SHARE * self.total:
            return Priority.HIGH
        return Priority.NORMAL


def _message_histogram() -> dict[int, int]:
    """Message total → how many assistants carry exactly that many (totals above zero), in one grouped query."""
    thread = LegacyThread._meta
    quote = connection.ops.quote_name
    column = quote(thread.get_field("assistant").column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.m, COUNT(*) FROM (SELECT SUM({quote(thread.get_field('message_count').column)}) AS m "
            f"FROM {quote(thread.db_table)} WHERE {column} IS NOT NULL GROUP BY {column}) t "
            "WHERE t.m > 0 GROUP BY t.m"
        )
        return {int(m): n for m, n in cursor.fetchall()}


def recompute_usage() -> int:
    """Recompute every assistant's usage figures, traffic share, suggested priority and tool-call counts.

    One grouped query for the ranking's histogram, then the assistants a chunk at a time in pk order: their
    current values, their threads and runs grouped by assistant, their tool calls; the figures are computed
    here and only the assistants whose values changed are written, each row once, in keyed batches. Each
    UPDATE of an assistant rewrites its row and every index on it (the search indexes included), so nothing
    that is already right is written. Memory stays flat in the number of assistants: a chunk is let go before
    the next is read (at 50,000 assistants, the whole table in Python cost about 100 MB). Returns how many
    assistants got a new suggested priority or tool-call count."""
    ranking = _Ranking(_message_histogram())
    changed = 0
    after = 0
    while True:
        current = list(Assistant.objects.filter(pk__gt=after).order_by("pk")
                       .values_list("pk", "legacy_id", "priority_overridden", *USAGE)[:CHUNK])
        if not current:
            break
        first, last = current[0][0], current[-1][0]
        threads = {
            row["assistant"]: row
            for row in LegacyThread.objects.filter(assistant__gte=first, assistant__lte=last).order_by()
            .values("assistant").annotate(threads=Count("pk"), messages=Sum("message_count"),
                                          last=Max("last_message_at"), turns=Avg("user_turns"),
                                          single=Count("pk", filter=Q(user_turns__lte=1)))
        }
        legacy_to_pk = {legacy_id: pk for pk, legacy_id, *_ in current}
        runs = dict(LegacyRun.objects.filter(assistant_legacy_id__in=list(legacy_to_pk)).order_by()
                    .values("assistant_legacy_id").annotate(n=Count("pk")).values_list("assistant_legacy_id", "n"))
        calls = _tool_calls_by_assistant(legacy_to_pk)
        updates = []
        for pk, legacy_id, overridden, *values in current:
            row = threads.get(pk)
            n = row["threads"] if row else 0
            messages = (row["messages"] or 0) if row else 0
            suggested = ranking.next(messages)
            wanted = {
                "thread_count": n,
                "message_count": messages,
                "run_count": runs.get(legacy_id, 0),
                "last_activity_at": row["last"] if row else None,
                "avg_turns_per_thread": float(row["turns"] or 0.0) if row else 0.0,
                "single_turn_share": row["single"] / n if n else 0.0,
                "traffic_share": messages / ranking.total if ranking.total else 0.0,
                "suggested_priority": suggested,
                "tool_call_counts": calls.get(pk, {}),
            }
            # Until the team overrides it, the priority is the suggestion.
            now = dict(zip(USAGE, values, strict=True))
            wanted["priority"] = now["priority"] if overridden else suggested
            if any(_differs(now[f], wanted[f]) for f in USAGE):
                updates.append((*(wanted[f] for f in USAGE), pk))
            if now["suggested_priority"] != suggested or now["tool_call_counts"] != wanted["tool_call_counts"]:
                changed += 1
        if updates:
            with transaction.atomic():
                sql.update_rows(Assistant, list(USAGE), updates)
        if len(current) < CHUNK:
            break
        after = last
    return changed


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
