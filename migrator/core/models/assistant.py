from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from migrator.core.status import ASSISTANT_TRANSITIONS, PRIORITY_RANK, MigrationStatus, Priority


def priority_rank() -> models.Case:
    """Critical first: the list's "Priority" sort. The same expression backs core_asst_priority_idx, so the
    database reads a page of that sort straight from the index instead of ranking every assistant."""
    return models.Case(
        *(models.When(priority=p, then=models.Value(rank)) for p, rank in PRIORITY_RANK.items()),
        default=models.Value(9),
        output_field=models.IntegerField(),
    )


class AssistantQuerySet(models.QuerySet["Assistant"]):
    def visible_to(self, user) -> AssistantQuerySet:
        if user.is_authenticated and (user.is_superuser or user.has_perm("core.view_assistant")):
            return self
        return self.none()

    def active(self) -> AssistantQuerySet:
        return self.exclude(status=MigrationStatus.RETIRED)


class Assistant(models.Model):
    """One legacy assistant and its migration status. Keyed by the legacy ``asst_…`` id for idempotent import."""

    legacy_id = models.CharField(max_length=128, unique=True)
    connection = models.ForeignKey(
        "core.Connection", null=True, blank=True, on_delete=models.SET_NULL, related_name="assistants"
    )
    source = models.CharField(max_length=200, blank=True, help_text="Connection name or archive file it came from.")
    name = models.CharField(max_length=256, blank=True)
    description = models.TextField(blank=True)
    model = models.CharField(max_length=128, blank=True, db_index=True)
    instructions = models.TextField(blank=True)
    tools = models.JSONField(default=list, blank=True)
    tool_resources = models.JSONField(default=dict, blank=True)
    response_format = models.JSONField(null=True, blank=True)
    temperature = models.FloatField(null=True, blank=True)
    top_p = models.FloatField(null=True, blank=True)
    reasoning_effort = models.CharField(max_length=16, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    raw = models.JSONField(default=dict, blank=True, help_text="The legacy API object exactly as imported.")
    legacy_created_at = models.DateTimeField(null=True, blank=True)
    # Hash of the migration-relevant definition (instructions, model, tools, formats...) to detect drift.
    definition_hash = models.CharField(max_length=64, blank=True)

    # Usage figures, recomputed on import.
    thread_count = models.PositiveIntegerField(default=0)
    message_count = models.PositiveIntegerField(default=0)
    run_count = models.PositiveIntegerField(default=0)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    avg_turns_per_thread = models.FloatField(default=0)
    single_turn_share = models.FloatField(default=0, help_text="0..1 share of threads with one user turn.")
    tool_call_counts = models.JSONField(default=dict, blank=True, help_text='{"function:get_invoice": 12, ...}')
    traffic_share = models.FloatField(default=0, help_text="0..1 share of all messages in the inventory.")

    # Business context set by the team.
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL, db_index=True)
    suggested_priority = models.CharField(max_length=16, choices=Priority.choices, blank=True)
    priority_overridden = models.BooleanField(default=False)
    tags = models.JSONField(default=list, blank=True, help_text="Business tags: revenue, support-load, internal-ops…")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_assistants"
    )

    status = models.CharField(
        max_length=32, choices=MigrationStatus.choices, default=MigrationStatus.INVENTORIED, db_index=True
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    needs_review = models.BooleanField(default=False, help_text="Upstream definition drifted since drafting.")
    imported_at = models.DateTimeField(null=True, blank=True)
    last_imported_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AssistantQuerySet.as_manager()
    # Status moves only through migrator.core.status.move, along this table, with a history row.
    STATUS_TRANSITIONS = ASSISTANT_TRANSITIONS
    STATUS_HISTORY = "status_changes"

    class Meta:
        ordering = ["name", "legacy_id"]
        permissions = [
            ("draft_prompt", "Draft or send back a prompt for review"),
            ("approve_prompt", "Approve a prompt version"),
            ("run_validation", "Run and record validations"),
            ("approve_cutover", "Approve a cutover"),
            ("mark_migrated", "Mark an assistant migrated or roll it back"),
            ("block_assistant", "Block or unblock an assistant"),
            ("retire_assistant", "Retire or restore an assistant"),
            ("set_priority", "Set business priority, tags and owner"),
        ]
        indexes = [
            models.Index(fields=["status", "priority"]),
            models.Index(fields=["-message_count"]),
            # What the lists sort by, tie-broken as the views do, so a page is an index range (no sort of all rows).
            models.Index(fields=["-traffic_share", "name", "id"], name="core_asst_traffic_idx"),
            models.Index(fields=["-message_count", "name", "id"], name="core_asst_messages_idx"),
            models.Index(fields=["name", "legacy_id"], name="core_asst_name_idx"),
            models.Index(fields=["-last_activity_at", "name", "id"], name="core_asst_activity_idx"),
            # The model radar's "busiest assistants per model".
            models.Index(fields=["model", "-message_count", "name"], name="core_asst_model_busy_idx"),
            models.Index(priority_rank(), models.F("name"), models.F("id"), name="core_asst_priority_idx"),
            # "Flows of assistants in status X" (the dashboard's next actions) as an index-only scan: the status
            # index alone sent PostgreSQL to 11,000 heap pages at 100,000 assistants to read their ids.
            models.Index(fields=["status", "id"], name="core_asst_status_id_idx"),
        ]

    def __str__(self) -> str:
        return self.name or self.legacy_id

    def get_absolute_url(self) -> str:
        return reverse("core:assistant_detail", args=[self.pk])

    @property
    def display_name(self) -> str:
        return self.name or f"(unnamed) {self.legacy_id}"

    @property
    def short_name(self) -> str:
        """For places that show the legacy id right beside the name (so an unnamed one does not print it twice)."""
        return self.name or "(unnamed)"


class AssistantStatusChange(models.Model):
    """History row for every status change (healthchecks' Flip, in spirit)."""

    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=32, choices=MigrationStatus.choices, blank=True)
    to_status = models.CharField(max_length=32, choices=MigrationStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"
