from __future__ import annotations

from django.conf import settings
from django.db import models

from migrator.core.status import FLOW_TRANSITIONS, FlowMode, FlowStatus


class FlowQuerySet(models.QuerySet["Flow"]):
    def visible_to(self, user) -> FlowQuerySet:
        if user.is_authenticated and (user.is_superuser or user.has_perm("core.view_flow")):
            return self
        return self.none()


class Flow(models.Model):
    """A product entry point served by an assistant, with its own state mode and status."""

    assistant = models.ForeignKey("core.Assistant", on_delete=models.CASCADE, related_name="flows")
    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    mode = models.CharField(max_length=32, choices=FlowMode.choices, blank=True)
    mode_reason = models.TextField(blank=True)
    recommended_mode = models.CharField(max_length=32, choices=FlowMode.choices, blank=True)
    recommendation = models.JSONField(default=dict, blank=True, help_text="Evidence behind the recommended mode.")
    truncation = models.CharField(
        max_length=16, choices=[("auto", "auto"), ("disabled", "disabled")], default="disabled"
    )
    store = models.BooleanField(default=True)
    streams = models.BooleanField(
        default=False, help_text="Production calls responses.create with stream=true: validation replays it streamed "
                                 "and measures time to first token.")
    status = models.CharField(max_length=32, choices=FlowStatus.choices, default=FlowStatus.PLANNING, db_index=True)
    tools_tested_at = models.DateTimeField(null=True, blank=True)
    mode_chosen_at = models.DateTimeField(null=True, blank=True)
    migrated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = FlowQuerySet.as_manager()
    # Status moves only through migrator.core.status.move, along this table, with a history row.
    STATUS_TRANSITIONS = FLOW_TRANSITIONS
    STATUS_HISTORY = "status_changes"

    class Meta:
        ordering = ["assistant__name", "name"]
        permissions = [("mark_flow_migrated", "Mark a flow migrated or roll it back")]
        # The flow list pages by name without joining the assistants to sort.
        indexes = [models.Index(fields=["name", "id"], name="core_flow_name_idx")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from migrator.core.navigation import page_url

        return page_url("flow", self.slug) or ""  # the flows app declares its page (tabs.PAGES)


class FlowStatusChange(models.Model):
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=32, choices=FlowStatus.choices, blank=True)
    to_status = models.CharField(max_length=32, choices=FlowStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"
