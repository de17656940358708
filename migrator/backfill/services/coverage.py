"""How much of a flow's thread history is in Conversations (read by the cutover/status pages)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from migrator.backfill.models import ThreadBackfill, ThreadStatus
from migrator.inventory.models import LegacyThread


def coverage(flow: Any, *, connection: Any = None) -> dict[str, int]:
    """``{selected, done, failed, skipped, pending}`` for a flow (a Flow or its slug).

    ``selected`` counts the flow's threads that any backfill took on; ``pending`` those not finished yet
    (pending, creating or appending). Rolled-back threads count as pending again only once re-selected.
    ``threads`` is every imported thread of the flow, so callers can tell "all backfilled" from "some".
    """
    slug = getattr(flow, "slug", flow)
    rows = ThreadBackfill.objects.filter(thread__flow_slug=slug)
    if connection is not None:
        rows = rows.filter(connection=connection)
    counts = dict(rows.values_list("status").annotate(n=Count("id")))
    pending = sum(counts.get(s, 0) for s in (ThreadStatus.PENDING, ThreadStatus.CREATING, ThreadStatus.APPENDING))
    done = counts.get(ThreadStatus.DONE, 0)
    failed = counts.get(ThreadStatus.FAILED, 0)
    skipped = counts.get(ThreadStatus.SKIPPED, 0)
    return {"selected": done + failed + skipped + pending, "done": done, "failed": failed, "skipped": skipped,
            "pending": pending, "rolled_back": counts.get(ThreadStatus.ROLLED_BACK, 0),
            "threads": LegacyThread.objects.filter(flow_slug=slug).count()}
