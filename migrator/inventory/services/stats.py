"""Per-thread figures after an import: which assistant a thread belongs to, message positions, and counts.

All of it is set-based: grouped aggregate queries and correlated-subquery UPDATEs over chunks of thread ids,
never one query per message.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice, pairwise
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Length

from migrator.core.models import Assistant
from migrator.inventory.models import LegacyMessage, LegacyRun, LegacyThread
from migrator.inventory.services import sql

CHUNK = 500


def chunks(values: Iterable[int], size: int = CHUNK) -> Iterator[list[int]]:
    """Ascending chunks of ids; a compact set that iterates in order (the importer's) is not copied to sort it."""
    ordered = iter(values) if getattr(values, "ordered", False) else iter(sorted(values))
    while chunk := list(islice(ordered, size)):
        yield chunk


def chronological(items: list[tuple[datetime | None, Any]]) -> list[Any]:
    """Order (created_at, payload) pairs given in arrival order. Equal timestamps are common (one-second
    resolution), so ties keep arrival order, reversed when the dump was newest-first (the API's default)."""
    stamps = [c for c, _ in items if c is not None]
    ascending = sum(1 for a, b in pairwise(stamps) if a < b)
    descending = sum(1 for a, b in pairwise(stamps) if a > b)
    sign = -1 if descending > ascending else 1
    order = sorted(range(len(items)), key=lambda i: (items[i][0] is None, items[i][0] or 0, sign * i))
    return [items[i][1] for i in order]


def _most_common(counts: dict[str, int]) -> str:
    """The assistant named most often; ties go to the smaller id so the answer never depends on query order."""
    best = min(counts.items(), key=lambda kv: (-kv[1], kv[0]), default=("", 0))
    return best[0]


FIGURES = ("message_count", "user_turns", "assistant_turns", "approx_tokens", "last_message_at", "run_count")
LINK = ("assistant_legacy_id", "assistant")


def refresh_threads(thread_pks: Iterable[int]) -> int:
    """Each touched thread's assistant and figures, in one keyed UPDATE per chunk of threads whose values
    changed; returns how many threads got a different assistant.

    - The assistant: the one the user's thread list names, else the one most of its runs used, else the one
      most of its assistant messages name.
    - The figures: message count, user and assistant turns, approximate tokens (characters / 4), last activity
      and run count; a stub (thread object never seen) dates from its first message.

    Two grouped aggregates per chunk (messages and runs, each by thread and assistant) give both, so the
    messages are read once and each thread row is rewritten at most once."""
    changed_total = 0
    for chunk in chunks(thread_pks):
        figures: dict[int, dict[str, Any]] = {
            pk: {"message_count": 0, "user_turns": 0, "assistant_turns": 0, "approx_tokens": 0,
                 "last_message_at": None, "run_count": 0, "first": None} for pk in chunk}
        by_runs: dict[int, dict[str, int]] = {}
        by_messages: dict[int, dict[str, int]] = {}
        chars: dict[int, int] = {}
        rows = (LegacyMessage.objects.filter(thread_id__in=chunk).order_by().values("thread_id", "assistant_legacy_id")
                .annotate(n=Count("pk"), users=Count("pk", filter=Q(role="user")),
                          assistants=Count("pk", filter=Q(role="assistant")), chars=Sum(Length("text")),
                          last=Max("created_at_legacy"), first=Min("created_at_legacy")))
        for row in rows:
            wanted = figures[row["thread_id"]]
            wanted["message_count"] += row["n"]
            wanted["user_turns"] += row["users"]
            wanted["assistant_turns"] += row["assistants"]
            chars[row["thread_id"]] = chars.get(row["thread_id"], 0) + (row["chars"] or 0)
            if row["last"] is not None and (wanted["last_message_at"] is None or row["last"] > wanted["last_message_at"]):
                wanted["last_message_at"] = row["last"]
            if row["first"] is not None and (wanted["first"] is None or row["first"] < wanted["first"]):
                wanted["first"] = row["first"]
            if row["assistant_legacy_id"]:
                by_messages.setdefault(row["thread_id"], {})[row["assistant_legacy_id"]] = row["n"]
        for thread_id, n in chars.items():
            figures[thread_id]["approx_tokens"] = n // 4
        for thread_id, legacy_id, n in (LegacyRun.objects.filter(thread_id__in=chunk).order_by()
                                        .values("thread_id", "assistant_legacy_id").annotate(n=Count("pk"))
                                        .values_list("thread_id", "assistant_legacy_id", "n")):
            figures[thread_id]["run_count"] += n
            if legacy_id:
                by_runs.setdefault(thread_id, {})[legacy_id] = n
        threads = list(LegacyThread.objects.filter(pk__in=chunk).only(
            "pk", "is_stub", "created_at_legacy", "assistant_from_list", *LINK, *FIGURES))
        links = {}
        for thread in threads:
            legacy = thread.assistant_legacy_id
            if not thread.assistant_from_list:
                legacy = _most_common(by_runs.get(thread.pk, {})) or _most_common(by_messages.get(thread.pk, {}))
            links[thread.pk] = legacy
        pks = dict(Assistant.objects.filter(legacy_id__in={x for x in links.values() if x}).order_by()
                   .values_list("legacy_id", "pk"))
        changed = []
        for thread in threads:
            wanted = figures[thread.pk]
            legacy = links[thread.pk]
            assistant_id = pks.get(legacy)
            created = wanted["first"] if thread.is_stub else thread.created_at_legacy
            relinked = thread.assistant_legacy_id != legacy or thread.assistant_id != assistant_id
            if relinked or created != thread.created_at_legacy or any(
                getattr(thread, f) != wanted[f] for f in FIGURES
            ):
                changed.append((legacy, assistant_id, *(wanted[f] for f in FIGURES), created, thread.pk))
                changed_total += relinked
        if changed:
            with transaction.atomic():
                sql.update_rows(LegacyThread, [*LINK, *FIGURES, "created_at_legacy"], changed)
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


# The columns the closing queries filter and group on: sampling only these skips reading every message's text
# and JSON content, which was most of ANALYZE's time.
ANALYZED = {LegacyThread: ("id", "assistant_id", "flow_slug", "legacy_id"),
            LegacyMessage: ("thread_id", "assistant_legacy_id", "role"),
            LegacyRun: ("thread_id", "assistant_legacy_id")}


def analyze() -> None:
    """PostgreSQL plans from table statistics that a bulk load leaves stale; refresh them (cheap, sampled)."""
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model, names in ANALYZED.items():
            columns = ", ".join(quote(model._meta.get_field(n).column) for n in names)
            cursor.execute(f"ANALYZE {quote(model._meta.db_table)} ({columns})")
