from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def visible_to(self, user) -> AuditEventQuerySet:
        if user.is_authenticated and (user.is_superuser or user.has_perm("core.view_auditevent")):
            return self
        return self.none()

    def for_object(self, obj: models.Model) -> AuditEventQuerySet:
        return self.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))


class AuditEvent(models.Model):
    """One recorded action: who did what to which object, with before/after. Append-only."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_kind = models.CharField(
        max_length=8, default="user", choices=[("user", "Person"), ("system", "System")],
        help_text="Whether a person or named automation (a job, a command, the importer) acted.",
    )
    actor_label = models.CharField(max_length=150, blank=True, help_text="Username, or the system actor's name.")
    verb = models.CharField(max_length=100, db_index=True, help_text="Namespaced, e.g. migrator.assistant.status_changed")
    object_type = models.CharField(max_length=100, blank=True, db_index=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.actor_label or 'system'} {self.verb} {self.object_repr}"
