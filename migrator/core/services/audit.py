from __future__ import annotations

from typing import Any

from django.db import models

from migrator.core.actors import kind_of, label_of, user_or_none
from migrator.core.models import AuditEvent


def record(
    *,
    actor,
    verb: str,
    obj: models.Model | None = None,
    before: Any = None,
    after: Any = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. ``verb`` is namespaced: ``migrator.<object>.<what_happened>``."""
    if not verb.startswith("migrator."):
        raise ValueError(f"Audit verbs are namespaced under 'migrator.': {verb!r}")
    return AuditEvent.objects.create(
        actor=user_or_none(actor),
        actor_kind=kind_of(actor),
        actor_label=label_of(actor)[:150],
        verb=verb,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:300] if obj is not None else "",
        before=before,
        after=after,
        data=data or {},
    )
