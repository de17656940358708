"""Flows found in the data: flow slugs that imported thread lists name but nobody created as a flow yet.

The thread list's ``flow`` column (migrator.inventory.thread_ids) says which product entry point each thread
came from. Each slug without a Flow is a suggestion when creating flows, with the evidence behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
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


def flows_found(*, assistants=None) -> list[FoundFlow]:
    """Slugs named by imported threads that no Flow uses yet, busiest first."""
    from migrator.inventory.models import LegacyThread

    threads = LegacyThread.objects.exclude(flow_slug="").filter(assistant__isnull=False)
    if assistants is not None:
        threads = threads.filter(assistant__in=assistants)
    taken = set(Flow.objects.values_list("slug", flat=True))
    rows = (threads.values("flow_slug", "assistant_id")
            .annotate(n=Count("id"), m=Sum("message_count"), last=Max("last_message_at")).order_by("-n", "flow_slug"))
    names = dict(Assistant.objects.filter(pk__in={r["assistant_id"] for r in rows}).values_list("pk", "name"))
    found, seen = [], set()
    for row in rows:
        slug = row["flow_slug"].strip().lower()
        if slug in taken or slug in seen:
            continue
        seen.add(slug)
        found.append(FoundFlow(slug=slug, name=name_from_slug(slug), assistant_id=row["assistant_id"],
                               assistant_name=names.get(row["assistant_id"]) or "an assistant",
                               threads=row["n"], messages=row["m"] or 0, last=row["last"]))
    return found
