"""Which conversation a legacy thread became: one answer for the production API and the lookup page."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, IntegerField, Value, When

from migrator.backfill.models import ThreadBackfill, ThreadStatus
from migrator.inventory.models import LegacyThread


@dataclass(frozen=True)
class Lookup:
    thread: LegacyThread
    row: ThreadBackfill | None  # the backfill that speaks for it (a done one first), None if never backfilled

    def as_dict(self) -> dict:
        body = {"thread_id": self.thread.legacy_id, "flow": self.thread.flow_slug or None, "conversation_id": None,
                "status": "not_backfilled", "items": 0, "connection": None}
        row = self.row
        if row is not None:
            body.update({"status": row.status, "connection": row.connection.name,
                         "items": row.cursor if row.status != ThreadStatus.ROLLED_BACK else 0,
                         "conversation_id": row.conversation_id if row.status == ThreadStatus.DONE else None})
        return body


def find_thread(thread_id: str) -> LegacyThread | None:
    thread_id = (thread_id or "").strip()
    return LegacyThread.objects.filter(legacy_id=thread_id).first() if 0 < len(thread_id) <= 128 else None


def lookup(thread: LegacyThread, *, connection: str | None = None) -> Lookup:
    rows = ThreadBackfill.objects.filter(thread=thread).select_related("connection")
    if connection:
        rows = rows.filter(connection__name=connection)
    row = rows.annotate(done_first=Case(When(status=ThreadStatus.DONE, then=Value(0)), default=Value(1),
                                        output_field=IntegerField())).order_by("done_first", "-updated_at").first()
    return Lookup(thread, row)
