"""Demo state for `make run`: the busiest demo assistants get drafts, some approved (cutover stages come from migrator.rollouts.demo).

Called by ``manage.py seed_demo`` after the inventory import; idempotent (once any demo assistant has a prompt
version it does nothing), and it goes through the same services a person would, so the audit log reads true.
"""

from __future__ import annotations

from migrator.core.models import Assistant
from migrator.core.services import ServiceError
from migrator.prompts import services

DRAFTS, APPROVED = 8, 4


def seed_demo(*, connection, users: dict) -> str:
    product = users["product"]
    if Assistant.objects.filter(connection=connection, prompt_versions__isnull=False).exists():
        return "prompt versions already exist; left as they are"
    candidates = (
        Assistant.objects.filter(connection=connection)
        .exclude(status__in=["retired", "blocked"])
        .order_by("-traffic_share", "name")
    )
    drafted, approved, skipped = [], [], []
    for assistant in candidates:
        if len(drafted) >= DRAFTS:
            break
        try:
            version = services.generate_version(assistant_id=assistant.pk, actor=product)
        except ServiceError as exc:
            skipped.append(f"{assistant.display_name}: {exc}")
            continue
        drafted.append(assistant.display_name)
        if len(approved) >= APPROVED:
            continue
        try:
            services.approve_version(version_id=version.pk, actor=product)
        except ServiceError:
            continue  # a draft that needs a decision first stays a draft, as it would for a person
        approved.append(assistant.display_name)
    summary = f"{len(drafted)} drafted, {len(approved)} approved"
    return summary + (f"; skipped {len(skipped)}" if skipped else "")
