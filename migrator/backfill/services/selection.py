"""Which legacy threads a backfill takes, and what sending them will cost at the connection's budget."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from migrator.backfill.mapping import BATCH_SIZE
from migrator.backfill.models import ThreadBackfill, ThreadStatus
from migrator.core.models import Assistant, Connection, Flow
from migrator.core.ratebudget import RateBudget
from migrator.core.services import ServiceError
from migrator.inventory.models import LegacyThread

_THREAD_ID = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")
MAX_THREAD_IDS = 100_000


@dataclass
class Selection:
    """The criteria, all optional but at least one scope: every thread, a flow, an assistant or a list of ids."""

    all: bool = False
    flow: str = ""  # flow slug (LegacyThread.flow_slug)
    assistant: str = ""  # asst_… legacy id
    thread_ids: list[str] = field(default_factory=list)
    since: date | None = None  # last activity on or after
    tags: list[str] = field(default_factory=list)
    end_user: str = ""
    min_messages: int = 0
    include_done: bool = False  # keep threads already backfilled on this connection (they are never rewritten)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["since"] = self.since.isoformat() if self.since else None
        if len(self.thread_ids) > 50:
            data["thread_ids"] = self.thread_ids[:50]
            data["thread_ids_total"] = len(self.thread_ids)
        return {k: v for k, v in data.items() if v not in (None, "", [], 0, False)}

    def describe(self) -> str:
        parts = []
        if self.all:
            parts.append("every thread")
        if self.flow:
            parts.append(f"flow {self.flow}")
        if self.assistant:
            parts.append(f"assistant {self.assistant}")
        if self.thread_ids:
            parts.append(f"{len(self.thread_ids)} listed thread(s)")
        if self.since:
            parts.append(f"active since {self.since.isoformat()}")
        if self.tags:
            parts.append("tagged " + ", ".join(self.tags))
        if self.end_user:
            parts.append(f"end user {self.end_user}")
        if self.min_messages:
            parts.append(f"≥ {self.min_messages} messages")
        return "; ".join(parts) or "nothing"

    def validate(self) -> None:
        if not (self.all or self.flow or self.assistant or self.thread_ids):
            raise ServiceError("Choose which threads: every thread, a flow, an assistant, or a list of thread ids.")
        if self.min_messages < 0:
            raise ServiceError("Minimum messages cannot be negative.")
        if len(self.thread_ids) > MAX_THREAD_IDS:
            raise ServiceError(f"At most {MAX_THREAD_IDS:,} thread ids in one selection.")
        for n, tid in enumerate(self.thread_ids, 1):
            if not _THREAD_ID.match(tid):
                raise ServiceError(f"Thread id {n} ({tid[:60]!r}) is not a thread id (letters, digits, _ and -).")
        if self.flow and not Flow.objects.filter(slug=self.flow).exists() and \
                not LegacyThread.objects.filter(flow_slug=self.flow).exists():
            raise ServiceError(f"There is no flow '{self.flow}' and no imported thread names it.")
        if self.assistant and not Assistant.objects.filter(legacy_id=self.assistant).exists() and \
                not LegacyThread.objects.filter(assistant_legacy_id=self.assistant).exists():
            raise ServiceError(f"There is no assistant '{self.assistant}' in the inventory.")


def parse_thread_ids(text: str) -> list[str]:
    """Thread ids from a file or a text box: one a line (or comma/space separated), # comments, header ignored."""
    out: list[str] = []
    seen: set[str] = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        for token in re.split(r"[\s,;]+", line):
            token = token.strip().strip('"')
            if not token or token == "thread_id":
                continue
            if token not in seen:
                seen.add(token)
                out.append(token)
    return out


def selected_threads(selection: Selection, connection: Connection) -> QuerySet[LegacyThread]:
    """The threads the selection names (already-backfilled ones out unless ``include_done``)."""
    selection.validate()
    qs = LegacyThread.objects.all()
    if selection.flow:
        qs = qs.filter(flow_slug=selection.flow)
    if selection.assistant:
        qs = qs.filter(Q(assistant__legacy_id=selection.assistant) | Q(assistant_legacy_id=selection.assistant))
    if selection.thread_ids:
        qs = qs.filter(legacy_id__in=selection.thread_ids)
    if selection.since:
        start = timezone.make_aware(datetime.combine(selection.since, time.min))
        qs = qs.filter(last_message_at__gte=start)
    for tag in selection.tags:
        qs = qs.filter(tags__contains=[tag]) if _json_contains_supported() else qs.filter(tags__icontains=f'"{tag}"')
    if selection.end_user:
        qs = qs.filter(end_user_id=selection.end_user)
    if selection.min_messages:
        qs = qs.filter(message_count__gte=selection.min_messages)
    if not selection.include_done:
        done = ThreadBackfill.objects.filter(connection=connection, thread=OuterRef("pk"), status=ThreadStatus.DONE)
        qs = qs.exclude(Exists(done))
    return qs.order_by("id")


def _json_contains_supported() -> bool:
    from django.db import connection as db

    return db.features.supports_json_field_contains


def missing_thread_ids(selection: Selection) -> list[str]:
    """Listed ids the inventory does not hold (reported, never silently ignored)."""
    if not selection.thread_ids:
        return []
    known = set(LegacyThread.objects.filter(legacy_id__in=selection.thread_ids).values_list("legacy_id", flat=True))
    return [t for t in selection.thread_ids if t not in known]


@dataclass
class Estimate:
    threads: int
    messages: int
    already_done: int
    calls: int
    seconds: float
    rpm: int | None
    source: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate(selection: Selection, connection: Connection) -> Estimate:
    """Threads, estimated write calls (ceil(items/20) each, from message counts) and time at the budget.

    One aggregate in SQL over the selection's index-served rows (the threads already done on this connection
    counted apart by a conditional aggregate): nothing is read into Python, whatever the selection's size."""
    from django.db.models import Count, F, Sum, Value
    from django.db.models.functions import Greatest

    qs = selected_threads(Selection(**{**asdict(selection), "include_done": True}), connection).order_by()
    done = Exists(ThreadBackfill.objects.filter(connection=connection, thread=OuterRef("pk"), status=ThreadStatus.DONE))
    keep = Q() if selection.include_done else ~Q(done)
    # Integer division on both databases: a thread of n messages takes ceil(max(n, 1) / BATCH_SIZE) writes.
    calls = (Greatest(F("message_count"), Value(1)) + Value(BATCH_SIZE - 1)) / Value(BATCH_SIZE)
    totals = qs.aggregate(n=Count("id", filter=keep), messages=Sum("message_count", filter=keep),
                          calls=Sum(calls, filter=keep), already=Count("id", filter=Q(done)))
    calls_total = totals["calls"] or 0
    budget = RateBudget.for_connection(connection)
    limits = budget.limits()
    return Estimate(threads=totals["n"] or 0, messages=totals["messages"] or 0, already_done=totals["already"] or 0,
                    calls=calls_total, seconds=budget.estimate_seconds(calls_total), rpm=limits.rpm,
                    source=limits.source)
