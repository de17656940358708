"""Prompt versions (immutable), the labels that point at them, and review comments."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from migrator.core.roles import group_names


class LabelName(models.TextChoices):
    DRAFT = "draft", "Draft"
    APPROVED = "approved", "Approved"
    PRODUCTION = "production", "Production"


# Labels only an approved version may carry.
APPROVED_ONLY = (LabelName.APPROVED, LabelName.PRODUCTION)


class PromptVersionQuerySet(models.QuerySet["PromptVersion"]):
    def visible_to(self, user) -> PromptVersionQuerySet:
        if user.is_authenticated and (user.is_superuser or user.has_perm("core.view_assistant")):
            return self
        return self.none()


class PromptVersion(models.Model):
    """One converted configuration of an assistant. Never changes after it is saved: an edit is a child.

    Only the review bookkeeping (approval stamp, re-review flag) may be updated later.
    """

    MUTABLE_FIELDS = frozenset({"approved_by", "approved_at", "needs_rereview", "rereview_reason"})

    assistant = models.ForeignKey("core.Assistant", on_delete=models.CASCADE, related_name="prompt_versions")
    number = models.PositiveIntegerField(help_text="1, 2, 3… per assistant.")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    config = models.JSONField(help_text="Keyword arguments for client.responses.create(...) minus input.")
    ledger = models.JSONField(default=list, blank=True)
    findings = models.JSONField(default=list, blank=True)
    schemas = models.JSONField(default=list, blank=True, help_text="Schema reviews: original, fixed, compatibility.")
    strict_choices = models.JSONField(
        default=dict, blank=True, help_text='Per schema pointer: {"choice": "fixed"|"original", "strict": bool, "by"}.'
    )
    source = models.JSONField(default=dict, blank=True, help_text="The legacy definition the conversion read.")
    source_hash = models.CharField(max_length=64, blank=True, help_text="assistant.definition_hash at generation.")
    is_generated = models.BooleanField(default=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Null for generated versions.",
    )
    message = models.TextField(blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    needs_rereview = models.BooleanField(default=False)
    rereview_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PromptVersionQuerySet.as_manager()

    class Meta:
        ordering = ["assistant_id", "-number"]
        constraints = [models.UniqueConstraint(fields=["assistant", "number"], name="prompt_version_number_unique")]
        permissions = [
            ("edit_prompt", "Edit a prompt (save a child version, choose strict schemas)"),
            ("try_prompt", "Send a prompt version to a connection (Try it)"),
            ("propose_successor", "Put an approved prompt on its model's successor (the retirement autopilot)"),
        ]

    def __str__(self) -> str:
        return f"v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            update_fields = kwargs.get("update_fields")
            if update_fields is None or not set(update_fields) <= self.MUTABLE_FIELDS:
                raise ValidationError("Prompt versions are immutable; save an edit as a new version instead.")
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("prompts:assistant_prompt", args=[self.assistant_id]) + f"?v={self.number}"

    def delete(self, *args: Any, **kwargs: Any):
        raise ValidationError("Prompt versions are kept for the audit trail and cannot be deleted one by one.")

    @property
    def is_approved(self) -> bool:
        return self.approved_at is not None

    @property
    def instructions(self) -> str:
        return (self.config or {}).get("instructions") or ""

    @property
    def author_label(self) -> str:
        if self.author_id:
            return self.author.get_username()
        return "generated"

    def findings_of(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.findings or [] if f.get("kind") == kind]


class PromptLabel(models.Model):
    """Which version is the draft / approved / production one. One version per label per assistant."""

    assistant = models.ForeignKey("core.Assistant", on_delete=models.CASCADE, related_name="prompt_labels")
    name = models.CharField(max_length=16, choices=LabelName.choices)
    version = models.ForeignKey(PromptVersion, on_delete=models.RESTRICT, related_name="labels")
    moved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    moved_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["assistant_id", "name"]
        constraints = [models.UniqueConstraint(fields=["assistant", "name"], name="prompt_label_unique")]
        permissions = [("set_production_label", "Move the production label (cutover switch and rollback)")]

    def __str__(self) -> str:
        return f"{self.name} → v{self.version.number}"


class PromptComment(models.Model):
    version = models.ForeignKey(PromptVersion, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Comment by {self.author} on {self.version}"


class ReviewStatus(models.TextChoices):
    OPEN = "open", "Waiting for review"
    APPROVED = "approved", "Approved"
    WITHDRAWN = "withdrawn", "Withdrawn"
    SUPERSEDED = "superseded", "Superseded by a newer request"


# The one table of moves a review request may make; everything else is refused.
REVIEW_TRANSITIONS: dict[str, frozenset[str]] = {
    ReviewStatus.OPEN: frozenset({ReviewStatus.APPROVED, ReviewStatus.WITHDRAWN, ReviewStatus.SUPERSEDED}),
    ReviewStatus.APPROVED: frozenset(),
    ReviewStatus.WITHDRAWN: frozenset(),
    ReviewStatus.SUPERSEDED: frozenset(),
}
PRODUCT_OWNER_GROUP = "Product owner"


class ReviewRequestQuerySet(models.QuerySet["ReviewRequest"]):
    def open(self) -> ReviewRequestQuerySet:
        return self.filter(status=ReviewStatus.OPEN)

    def waiting_for(self, user) -> ReviewRequestQuerySet:
        """Open requests this user can answer: addressed to them, or to "any product owner", which means everyone
        allowed to approve prompts (admins too, whatever their groups), and not their own version unless
        self-approval is allowed."""
        if not (user.is_authenticated and user.has_perm("core.approve_prompt")):
            return self.none()
        groups = {*group_names(user), PRODUCT_OWNER_GROUP}
        mine = self.open().filter(models.Q(reviewer=user) | models.Q(reviewer__isnull=True, reviewer_group__in=groups))
        if not settings.ALLOW_SELF_APPROVAL:
            mine = mine.exclude(version__author=user)
        return mine


class ReviewRequest(models.Model):
    """Someone asks a product owner (or the product-owner group) to review and approve one prompt version."""

    version = models.ForeignKey(PromptVersion, on_delete=models.CASCADE, related_name="review_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    requested_by_label = models.CharField(max_length=150, blank=True)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="review_requests", help_text="Null when sent to a group.")
    reviewer_group = models.CharField(max_length=150, blank=True, help_text="Group name when sent to a group.")
    note = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.OPEN)
    STATUS_TRANSITIONS = REVIEW_TRANSITIONS  # moved only by migrator.core.status.move / move_all
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by_label = models.CharField(max_length=150, blank=True)

    objects = ReviewRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "reviewer"]), models.Index(fields=["status", "reviewer_group"])]
        permissions = [("request_review", "Ask a product owner to review a prompt version")]

    def __str__(self) -> str:
        return f"Review of {self.version} for {self.reviewer_label}"

    def may_withdraw(self, user) -> bool:
        """Only the person who asked, or someone who may approve, withdraws a request."""
        return bool(user.is_authenticated and (self.requested_by_id == user.pk or user.has_perm("core.approve_prompt")))

    @property
    def reviewer_label(self) -> str:
        if self.reviewer_id:
            return self.reviewer.get_username()
        return f"any {self.reviewer_group.lower()}" if self.reviewer_group else "—"


class TryLiveText(models.Model):
    """The answer of a try as it streams in: the worker writes it (throttled), the job page reads it through
    ``prompts:try_live`` while the job runs. ``done`` is set when the stream ended (the job's result then holds
    the whole response)."""

    job = models.OneToOneField("core.Job", on_delete=models.CASCADE, primary_key=True, related_name="+")
    text = models.TextField(blank=True)
    done = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"live text of job {self.job_id}"
