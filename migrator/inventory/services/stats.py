"""Per-thread figures after an import: which assistant a thread belongs to, message positions, and counts.

All of it is set-based: grouped aggregate queries and correlated-subquery UPDATEs over chunks of thread ids,
never one query per message.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import pairwise
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Length

from migrator.core.models import Assistant
from migrator.inventory.models import LegacyMessage, LegacyRun, LegacyThread
from migrator.inventory.services import sql

CHUNK = 500


def chunks(values: Iterable[int], size: int = CHUNK) -> Iterator[list[int]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def chronological(items: list[tuple[datetime | None, Any]]) -> list[Any]:
    """Order (created_at, payload) pairs given in arrival order. Equal timestamps are common (one-second
    resolution), so ties keep arrival order, reversed when the dump was newest-first (the API's default)."""
    stamps = [c for c, _ in items if c is not None]
    ascending = sum(1 for a, b in pairwise(stamps) if a < b)
    descending = sum(1 for a, b in pairwise(stamps) if a > b)
    sign = -1 if descending > ascending else 1
    order = sorted(range(len(items)), key=lambda i: (items[i][0] is None, items[i][0] or 0, sign * i))
    return [items[i][1] for i in order]


def _most_common(rows: Iterable[tuple[int, str, int]]) -> dict[int, str]:
    best: dict[int, tuple[int, str]] = {}
    for thread_id, legacy_id, n in rows:
        current = best.get(thread_id)
        # Most runs wins; ties go to the smaller id so the answer never depends on query order.
        if current is None or n > current[0] or (n == current[0] and legacy_id < current[1]):
            best[thread_id] = (n, legacy_id)
    return {thread_id: legacy_id for thread_id, (_, legacy_id) in best.items()}


def link_thread_assistants(thread_pks: Iterable[int]) -> int:
    """Set each touched thread's assistant: the one the user's thread list names, else the one most of its runs
    used, else the one its assistant messages name. Then link threads whose assistant arrived later.
    Returns how many threads changed."""
    changed_total = 0
    for chunk in chunks(thread_pks):
        by_runs = _most_common(
            LegacyRun.objects.filter(thread_id__in=chunk).exclude(assistant_legacy_id="").order_by()
            .values("thread_id", "assistant_legacy_id").annotate(n=Count("pk"))
            .values_list("thread_id", "assistant_legacy_id", "n")
        )
        by_messages = _most_common(
            LegacyMessage.objects.filter(thread_id__in=chunk).exclude(assistant_legacy_id="").order_by()
            .values("thread_id", "assistant_legacy_id").annotate(n=Count("pk"))
            .values_list("thread_id", "assistant_legacy_id", "n")
        )
        threads = list(LegacyThread.objects.filter(pk__in=chunk).only("pk", "assistant_legacy_id",
                                                                     "assistant_from_list", "assistant_id"))
        wanted = {}
        for thread in threads:
            legacy = thread.assistant_legacy_id
            if not thread.assistant_from_list:
                legacy = by_runs.get(thread.pk) or by_messages.get(thread.pk) or ""
            wanted[thread.pk] = legacy
        pks = dict(Assistant.objects.filter(legacy_id__in={x for x in wanted.values() if x})
                   .values_list("legacy_id", "pk"))
        changed = []
        for thread in threads:
            legacy = wanted[thread.pk]
            assistant_id = pks.get(legacy)
            if thread.assistant_legacy_id != legacy or thread.assistant_id != assistant_id:
                thread.assistant_legacy_id = legacy
                thread.assistant_id = assistant_id
                changed.append(thread)
        if changed:
            with transaction.atomic():
                sql.update_rows(LegacyThread, ["assistant_legacy_id", "assistant"],
                                ((t.assistant_legacy_id, t.assistant_id, t.pk) for t in changed))
            changed_total += len(changed)
    # Threads imported before their assistant (another archive, a later page): link them now.
    with transaction.atomic():
        changed_total += (
            LegacyThread.objects.filter(assistant__isnull=True)
            .exclude(assistant_legacy_id="")
            .filter(assistant_legacy_id__in=Assistant.objects.values("legacy_id"))
            .update(assistant=Subquery(Assistant.objects.filter(legacy_id=OuterRef("assistant_legacy_id"))
                                       .values("pk")[:1]))
        )
    return changed_total


def renumber_positions(thread_pks: Iterable[int]) -> None:
    """Give every message of these threads its chronological 0-based position (arrival order = pk order)."""
    for chunk in chunks(thread_pks, 200):
        rows = (LegacyMessage.objects.filter(thread_id__in=chunk).order_by("thread_id", "pk")
                .values_list("pk", "thread_id", "created_at_legacy", "position"))
        grouped: dict[int, list[tuple[datetime | None, tuple[int, int]]]] = {}
        for pk, thread_id, created, position in rows:
            grouped.setdefault(thread_id, []).append((created, (pk, position)))
        changed = []
        for items in grouped.values():
            for index, (pk, position) in enumerate(chronological(items)):
                if position != index:
                    changed.append((index, pk))
        if changed:
            with transaction.atomic():
                sql.update_rows(LegacyMessage, ["position"], changed)


def analyze() -> None:
    """PostgreSQL plans from table statistics that a bulk load leaves stale; refresh them (cheap, sampled)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in (LegacyThread, LegacyMessage, LegacyRun):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


FIGURES = ("message_count", "user_turns", "assistant_turns", "approx_tokens", "last_message_at", "run_count")


def refresh_thread_figures(thread_pks: Iterable[int]) -> None:
    """Message count, turns, approximate tokens (characters / 4), last activity and run count: one grouped
    aggregate per chunk of threads, then keyed updates of the threads whose figures changed."""
    for chunk in chunks(thread_pks):
        figures: dict[int, dict[str, Any]] = {pk: {"message_count": 0, "user_turns": 0, "assistant_turns": 0,
                                                   "approx_tokens": 0, "last_message_at": None, "run_count": 0,
                                                   "first": None} for pk in chunk}
        rows = (LegacyMessage.objects.filter(thread_id__in=chunk).order_by().values("thread_id")
                .annotate(n=Count("pk"), users=Count("pk", filter=Q(role="user")),
                          assistants=Count("pk", filter=Q(role="assistant")), chars=Sum(Length("text")),
                          last=Max("created_at_legacy"), first=Min("created_at_legacy")))
        for row in rows:
            figures[row["thread_id"]].update(
                message_count=row["n"], user_turns=row["users"], assistant_turns=row["assistants"],
                approx_tokens=(row["chars"] or 0) // 4, last_message_at=row["last"], first=row["first"])
        for thread_id, n in (LegacyRun.objects.filter(thread_id__in=chunk).order_by().values("thread_id")
                             .annotate(n=Count("pk")).values_list("thread_id", "n")):
            figures[thread_id]["run_count"] = n
        changed = []
        for thread in LegacyThread.objects.filter(pk__in=chunk).only("pk", "is_stub", "created_at_legacy",
                                                                       *FIGURES):
            wanted = figures[thread.pk]
            # a stub (thread object never seen) dates from its first message
            created = wanted["first"] if thread.is_stub else thread.created_at_legacy
            if any(getattr(thread, f) != wanted[f] for f in FIGURES) or created != thread.created_at_legacy:
                changed.append((*(wanted[f] for f in FIGURES), created, thread.pk))
        if changed:
            with transaction.atomic():
                sql.update_rows(LegacyThread, [*FIGURES, "created_at_legacy"], changed)
