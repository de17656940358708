"""The thread → conversation mapping as CSV or JSON Lines, streamed (for production apps and audits)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from django.db.models import QuerySet

from migrator.backfill.models import ThreadBackfill

FIELDS = ("thread_id", "conversation_id", "status", "flow", "end_user_id", "items", "connection", "run",
          "dropped", "reason", "finished_at")


def _row(r: ThreadBackfill) -> dict:
    return {
        "thread_id": r.thread.legacy_id, "conversation_id": r.conversation_id or None, "status": r.status,
        "flow": r.thread.flow_slug or None, "end_user_id": r.thread.end_user_id or None, "items": r.cursor,
        "connection": r.connection.name, "run": r.run_id, "dropped": len(r.dropped), "reason": r.reason or None,
        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
    }


def rows(qs: QuerySet[ThreadBackfill]) -> Iterator[dict]:
    for r in qs.select_related("thread", "connection").order_by("id").iterator(chunk_size=1000):
        yield _row(r)


def as_csv(qs: QuerySet[ThreadBackfill]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows(qs):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def as_jsonl(qs: QuerySet[ThreadBackfill]) -> Iterator[str]:
    for row in rows(qs):
        yield json.dumps(row, ensure_ascii=False) + "\n"
