"""Business context the team sets on an assistant: tags, owner, and a priority that overrides the suggestion."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from migrator.core.models import Assistant
from migrator.core.services import NotAllowed, ServiceError, audit
from migrator.core.status import Priority

STANDARD_TAGS = (
    ("revenue", "Revenue"),
    ("support-load", "Support load"),
    ("internal-ops", "Internal operations"),
    ("customer-facing", "Customer-facing"),
    ("compliance", "Compliance-sensitive"),
)
MAX_TAGS = 20


def _snapshot(assistant: Assistant) -> dict:
    return {
        "priority": assistant.priority,
        "priority_overridden": assistant.priority_overridden,
        "tags": list(assistant.tags),
        "owner": assistant.owner.get_username() if assistant.owner_id else None,
    }


def set_business_context(
    *, assistant_id: int, actor, priority: str, tags: list[str], owner_id: int | None
) -> tuple[Assistant, bool]:
    """``priority=""`` follows the suggestion from traffic; any Priority value overrides it. Returns
    (assistant, changed); an unchanged save writes nothing."""
    if not actor.has_perm("core.set_priority"):
        raise NotAllowed("You may not set an assistant's priority, tags or owner.")
    if priority and priority not in Priority.values:
        raise ServiceError(f"Unknown priority {priority!r}.")
    clean_tags: list[str] = []
    for tag in tags:
        tag = tag.strip().lower()
        if tag and tag not in clean_tags:
            if len(tag) > 40:
                raise ServiceError(f"The tag {tag[:40]!r}… is longer than 40 characters.")
            clean_tags.append(tag)
    if len(clean_tags) > MAX_TAGS:
        raise ServiceError(f"At most {MAX_TAGS} tags.")
    owner = None
    if owner_id is not None:
        owner = get_user_model().objects.filter(pk=owner_id, is_active=True).first()
        if owner is None:
            raise ServiceError("The owner must be an active user.")
    with transaction.atomic():
        assistant = Assistant.objects.select_for_update().get(pk=assistant_id)
        before = _snapshot(assistant)
        assistant.priority_overridden = bool(priority)
        assistant.priority = priority or assistant.suggested_priority or Priority.NORMAL
        assistant.tags = clean_tags
        assistant.owner = owner
        after = _snapshot(assistant)
        if after == before:
            return assistant, False
        assistant.save(update_fields=["priority", "priority_overridden", "tags", "owner", "updated_at"])
        audit.record(actor=actor, verb="migrator.assistant.business_context_changed", obj=assistant,
                     before=before, after=after)
    return assistant, True
