"""Cutover: requests bound to evidence, what each flow serves (its rollout), and every change of it.

``FlowRollout`` is the one production switch: the config API serves from it and nothing else, and only the
cutover services write it. ``ServingChange`` rows are the history of what a flow served (who, when, from which
version to which, why), so "roll back" never has to be parsed out of audit JSON.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from migrator.core.release import ReleaseSpec
from migrator.core.status import FlowMode


class Release(models.Model):
    """One release of a flow: a prompt version served in a state mode with truncation and store, named by the
    content hash of all of it (``migrator.core.release``). Immutable once written; the rollout points at the
    releases it serves, so nothing but a cutover changes what production gets."""

    flow = models.ForeignKey("core.Flow", on_delete=models.CASCADE, related_name="releases")
    version = models.ForeignKey("prompts.PromptVersion", on_delete=models.PROTECT, related_name="releases")
    hash = models.CharField(max_length=64, db_index=True)
    mode = models.CharField(max_length=32, choices=FlowMode.choices)
    truncation = models.CharField(max_length=16, default="disabled")
    store = models.BooleanField(default=True)
    content = models.JSONField(default=dict, help_text="What the hash covers: call settings, mode, state.")
    origin = models.CharField(max_length=300, blank=True, help_text="What made this release (a mode change, …).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["flow", "hash"], name="cutover_release_unique_per_flow")]

    def __str__(self) -> str:
        return f"{self.flow_id} release {self.hash[:12]}"

    @property
    def short(self) -> str:
        return self.hash[:12]

    def spec(self) -> ReleaseSpec:
        content = self.content or {}
        return ReleaseSpec(call=dict(content.get("call") or {}), mode=self.mode, truncation=self.truncation,
                           store=self.store, stream=bool(content.get("stream")))

    @property
    def stream(self) -> bool:
        return bool((self.content or {}).get("stream"))


class RequestStatus(models.TextChoices):
    AWAITING = "awaiting_approval", "Awaiting approval"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"
    VOID = "void", "Void (evidence changed)"
    COMPLETED = "completed", "Completed (100%)"
    ROLLED_BACK = "rolled_back", "Rolled back"


OPEN_REQUEST = (RequestStatus.AWAITING, RequestStatus.APPROVED)

# The one explicit, guarded transitions table of a request (see services.set_request_status).
REQUEST_TRANSITIONS: dict[str, frozenset[str]] = {
    RequestStatus.AWAITING: frozenset({RequestStatus.APPROVED, RequestStatus.DECLINED, RequestStatus.WITHDRAWN,
                                       RequestStatus.VOID}),
    RequestStatus.APPROVED: frozenset({RequestStatus.COMPLETED, RequestStatus.ROLLED_BACK, RequestStatus.VOID}),
    RequestStatus.COMPLETED: frozenset({RequestStatus.ROLLED_BACK}),
    RequestStatus.DECLINED: frozenset(),
    RequestStatus.WITHDRAWN: frozenset(),
    RequestStatus.VOID: frozenset(),
    RequestStatus.ROLLED_BACK: frozenset(),
}


class CutoverRequestQuerySet(models.QuerySet["CutoverRequest"]):
    def visible_to(self, user) -> CutoverRequestQuerySet:
        if user.is_authenticated and (user.is_superuser or user.has_perm("cutover.view_cutoverrequest")):
            return self
        return self.none()

    def awaiting(self) -> CutoverRequestQuerySet:
        return self.filter(status=RequestStatus.AWAITING)


class CutoverRequest(models.Model):
    """An engineer puts a flow forward with a version; the evidence is snapshotted, bound to hash and mode."""

    flow = models.ForeignKey("core.Flow", on_delete=models.CASCADE, related_name="cutover_requests")
    version = models.ForeignKey("prompts.PromptVersion", on_delete=models.PROTECT, related_name="cutover_requests")
    release = models.ForeignKey(Release, null=True, blank=True, on_delete=models.PROTECT, related_name="requests")
    config_hash = models.CharField(max_length=64)
    mode = models.CharField(max_length=32, choices=FlowMode.choices)
    status = models.CharField(max_length=24, choices=RequestStatus.choices, default=RequestStatus.AWAITING,
                              db_index=True)
    STATUS_TRANSITIONS = REQUEST_TRANSITIONS  # moved only by migrator.core.status.move / move_all
    evidence = models.JSONField(default=list, blank=True, help_text="The evidence items as gathered at request.")
    note = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_by_label = models.CharField(max_length=150, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True, db_index=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    closed_reason = models.TextField(blank=True, help_text="Why a request was voided, withdrawn or rolled back.")

    objects = CutoverRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        permissions = [
            ("request_cutover", "Put a flow forward for cutover"),
            ("approve_cutover", "Approve or decline a cutover request"),
            ("ramp_cutover", "Ramp a flow's rollout or roll it back"),
        ]
        constraints = [
            # At most one open request per flow: a second one must wait for the first to close.
            models.UniqueConstraint(fields=["flow"], condition=models.Q(status__in=["awaiting_approval", "approved"]),
                                    name="cutover_one_open_request_per_flow"),
        ]

    def __str__(self) -> str:
        return f"Cutover of {self.flow} to v{self.version.number}"

    def get_absolute_url(self) -> str:
        return reverse("cutover:request_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REQUEST


class FlowRollout(models.Model):
    """What a flow serves now: ``production`` to everyone except the ``percent`` of subjects on ``candidate``."""

    flow = models.OneToOneField("core.Flow", on_delete=models.CASCADE, related_name="rollout")
    production = models.ForeignKey("prompts.PromptVersion", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", help_text="Served to subjects outside the ramp.")
    candidate = models.ForeignKey("prompts.PromptVersion", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", help_text="Being ramped up; null when nothing is ramping.")
    production_release = models.ForeignKey(Release, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                           help_text="What production serves: the release of the production version.")
    candidate_release = models.ForeignKey(Release, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    percent = models.DecimalField(max_digits=5, decimal_places=2, default=0,
                                  help_text="Share of subjects on the candidate (0–100).")
    request = models.ForeignKey(CutoverRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Rollout of {self.flow}"


class ChangeKind(models.TextChoices):
    RAMP = "ramp", "Ramp"
    COMPLETE = "complete", "Completed at 100%"
    ROLLBACK = "rollback", "Rollback"
    IMPORTED = "imported", "Carried over from the production label"


class ServingChange(models.Model):
    """One change of what a flow serves. Append-only."""

    flow = models.ForeignKey("core.Flow", on_delete=models.CASCADE, related_name="serving_changes")
    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    from_version = models.ForeignKey("prompts.PromptVersion", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    to_version = models.ForeignKey("prompts.PromptVersion", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    from_release = models.ForeignKey(Release, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_release = models.ForeignKey(Release, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    from_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    to_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    request = models.ForeignKey(CutoverRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=150, blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.flow}: {self.get_kind_display()}"
