"""Demo flows for `make run`: entry points taken from the demo threads' own flow tags.

The assistants that have prompt versions get their flows (as an engineer would create them, through the same
services, so recommendations are computed and everything is audited); two flows have their recommended mode
accepted. Idempotent: once any demo flow exists it does nothing.
"""

from __future__ import annotations

from django.db.models import Count

from migrator.core.models import Assistant, Flow
from migrator.core.services import ServiceError
from migrator.flows.services import flows as flow_services
from migrator.inventory.models import LegacyThread

MAX_FLOWS, MODES_CHOSEN = 8, 2


def _title(slug: str) -> str:
    return slug.replace("-", " ").replace("_", " ").strip().capitalize()


def seed_demo(*, connection, users: dict) -> str:
    engineer = users["engineer"]
    assistants = list(
        Assistant.objects.filter(connection=connection, prompt_versions__isnull=False).distinct()
        .order_by("-traffic_share", "name")
    )
    if Flow.objects.filter(assistant__in=assistants).exists():
        return "flows already exist; left as they are"
    created: list[Flow] = []
    for assistant in assistants:
        slugs = (
            LegacyThread.objects.filter(assistant=assistant).exclude(flow_slug="")
            .values("flow_slug").annotate(n=Count("id")).order_by("-n", "flow_slug")[:2]
        )
        for row in slugs:
            if len(created) >= MAX_FLOWS:
                break
            try:
                created.append(flow_services.create_flow(
                    assistant_id=assistant.pk, slug=row["flow_slug"], name=_title(row["flow_slug"]), actor=engineer,
                    description=f"Demo entry point seen in {row['n']} imported threads.",
                ))
            except ServiceError:
                continue
    chosen = 0
    for flow in created:
        if chosen >= MODES_CHOSEN or not flow.recommended_mode:
            continue
        flow_services.choose_mode(
            flow_id=flow.pk, actor=engineer, mode=flow.recommended_mode, truncation=flow.truncation,
            store=flow.store or flow.recommended_mode == "previous_response",
        )
        chosen += 1
    return f"{len(created)} flows created, {chosen} with the recommended mode accepted"
