"""Flows found in the data: flow slugs that imported thread lists name but nobody created as a flow yet.

The thread list's ``flow`` column (migrator.inventory.thread_ids) says which product entry point each thread
came from. Each slug without a Flow is a suggestion when creating flows, with the evidence behind it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import Count, Max, Sum

from migrator.core.models import Assistant, Flow


@dataclass(frozen=True)
class FoundFlow:
    slug: str
    name: str  # a suggested name made from the slug
    assistant_id: int
    assistant_name: str
    threads: int
    messages: int
    last: datetime | None


def name_from_slug(slug: str) -> str:
    return slug.replace("-", " ").replace("_", " ").strip().capitalize()


def flows_found(*, assistants=None, limit: int | None = None) -> list[FoundFlow]:
    """Slugs named by imported threads that no Flow uses yet, busiest first; at most ``limit`` of them.

    One grouped aggregate over the threads that name a flow (served by the inventory's covering index
    ``inv_thread_flow_found``), the taken slugs without a join, and names for the shown assistants only."""
    from migrator.inventory.models import LegacyThread

    threads = LegacyThread.objects.exclude(flow_slug="").filter(assistant__isnull=False)
    if assistants is not None:
        threads = threads.filter(assistant__in=assistants)
    # Taken slugs go in SQL (an anti-join over the flow table), so a slice holds only slugs no flow has exactly;
    # what is left to check is a thread list's spelling ("Checkout-Web "), asked of the slice's slugs alone:
    # loading every flow's slug cost a set as large as the flow table on each view.
    threads = threads.exclude(flow_slug__in=Flow.objects.order_by().values("slug"))
    rows = (threads.values("flow_slug", "assistant_id")
            .annotate(n=Count("id"), m=Sum("message_count"), last=Max("last_message_at")).order_by("-n", "flow_slug"))
    found, seen = [], set()
    # Read in growing slices: a page shows a handful, and most groups past the first few are never needed.
    start, size = 0, 32 if limit is not None else None
    while True:
        chunk = list(rows[start : start + size] if size is not None else rows)
        spelled = {row["flow_slug"].strip().lower() for row in chunk} - seen
        taken = set(Flow.objects.filter(slug__in=spelled).order_by().values_list("slug", flat=True)) if spelled else set()
        for row in chunk:
            slug = row["flow_slug"].strip().lower()
            if slug in taken or slug in seen:
                continue
            seen.add(slug)
            found.append(FoundFlow(slug=slug, name=name_from_slug(slug), assistant_id=row["assistant_id"],
                                   assistant_name="", threads=row["n"], messages=row["m"] or 0, last=row["last"]))
            if limit is not None and len(found) >= limit:
                break
        if size is None or len(chunk) < size or (limit is not None and len(found) >= limit):
            break
        start, size = start + size, size * 4
    names = dict(Assistant.objects.filter(pk__in={f.assistant_id for f in found}).order_by()
                 .values_list("pk", "name")) if found else {}
    return [replace(f, assistant_name=names.get(f.assistant_id) or "an assistant") for f in found]
