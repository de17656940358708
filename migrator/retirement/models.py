"""The catalogue as last synced (so a sync can tell what changed), the notices a change produced, and the
autopilot's enrolment and its record of what it did per flow."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class CatalogueEntry(models.Model):
    """One model as the catalogue saw it at the last sync: file and connections merged (earliest date wins)."""

    model_id = models.CharField(max_length=128, unique=True)
    shutdown_date = models.DateField(null=True, blank=True)
    successor = models.CharField(max_length=128, blank=True)
    source = models.CharField(max_length=200, help_text="Where the shutdown date came from.")
    successor_source = models.CharField(max_length=300, blank=True)
    seen_at = models.DateTimeField(help_text="When that source was seen (a file entry: the date it records).")
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["model_id"]
        permissions = [("sync_catalogue", "Sync the model catalogue from the file and each connection's /models")]

    def __str__(self) -> str:
        return self.model_id


class NoticeKind(models.TextChoices):
    SUCCESSOR_CHANGED = "successor_changed", "Named successor changed"
    NEW_SHUTDOWN = "new_shutdown", "New shutdown date"
    SHUTDOWN_MOVED = "shutdown_moved", "Shutdown date moved"
    AUTOPILOT_FILED = "autopilot_request_filed", "Autopilot filed a cutover request"
    AUTOPILOT_BLOCKED = "autopilot_blocked", "Autopilot is blocked"


class CatalogueNotice(models.Model):
    """A change in the catalogue that people must hear about, with the flows it affects (an inbox item)."""

    kind = models.CharField(max_length=32, choices=NoticeKind.choices)
    model_id = models.CharField(max_length=128, db_index=True)
    before = models.CharField(max_length=128, blank=True)
    after = models.CharField(max_length=128, blank=True)
    source = models.CharField(max_length=300, blank=True)
    flows = models.JSONField(default=list, blank=True, help_text="[{slug, name}] of the flows on this model.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.model_id}: {self.get_kind_display()}"

    @property
    def summary(self) -> str:
        if self.kind == NoticeKind.SUCCESSOR_CHANGED:
            return f"{self.model_id}: named successor changed from {self.before or 'none'} to {self.after or 'none'}"
        if self.kind == NoticeKind.AUTOPILOT_FILED:
            return f"Autopilot: move from {self.before} to {self.after} put forward ({self.source})"
        if self.kind == NoticeKind.AUTOPILOT_BLOCKED:
            return f"Autopilot blocked on the move from {self.before} to {self.after or 'no successor'}: {self.source}"
        if self.kind == NoticeKind.NEW_SHUTDOWN:
            return f"{self.model_id}: shuts down on {self.after}"
        return f"{self.model_id}: shutdown moved from {self.before} to {self.after}"


class AutopilotEnrolment(models.Model):
    """Opt-in: one row per enrolled flow, or the row with no flow for every flow."""

    # "all" for every flow, "flow:<id>" for one: unique, so each scope has one row (a nullable unique flow would
    # let two "all flows" rows in).
    scope = models.CharField(max_length=40, unique=True)
    flow = models.OneToOneField("core.Flow", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="autopilot_enrolment")
    enabled = models.BooleanField(default=True)
    days_before = models.PositiveIntegerField(default=30, help_text="Act this many days before the shutdown.")
    changed_by = models.CharField(max_length=150, blank=True)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [("manage_autopilot", "Enrol flows in the retirement autopilot and run it")]

    def __str__(self) -> str:
        return f"autopilot: {self.flow or 'all flows'}"


class AutopilotAction(models.TextChoices):
    NONE = "none", "Nothing to do"
    CANDIDATE_CREATED = "candidate_created", "Candidate created"
    VALIDATING = "validating", "Validating"
    REQUEST_FILED = "request_filed", "Cutover request filed"
    BLOCKED = "blocked", "Blocked"


class AutopilotMove(models.Model):
    """The autopilot's work on one flow's move off one model: the candidate, its evidence, the request."""

    flow = models.ForeignKey("core.Flow", on_delete=models.CASCADE, related_name="autopilot_moves")
    model = models.CharField(max_length=128)
    successor = models.CharField(max_length=128)
    shutdown_date = models.DateField()
    version = models.ForeignKey("prompts.PromptVersion", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    validation_run = models.ForeignKey("validation.ValidationRun", null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+")
    request = models.ForeignKey("cutover.CutoverRequest", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    # What the autopilot's last pass did, recomputed from the world on every pass (any action may follow any
    # other): a record, not a status machine, so it declares no STATUS_TRANSITIONS.
    action = models.CharField(max_length=32, choices=AutopilotAction.choices, default=AutopilotAction.NONE)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["flow", "model", "successor"],
                                               name="retirement_one_move_per_flow_model")]

    def __str__(self) -> str:
        return f"{self.flow} {self.model} → {self.successor}"
