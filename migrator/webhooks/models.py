"""Outgoing webhooks: endpoints people configure, the events migrator emitted, and one row per delivery.

A delivery is the unit of retrying: it has a status, an attempt count and the last attempt's outcome, and
each HTTP attempt is kept as a :class:`DeliveryAttempt` for the delivery log. An event is delivered to an
endpoint once per :class:`Delivery` (retries update the same row); a manual "redeliver" makes a new row
pointing at the one it repeats, with the same event id, so receivers that deduplicate on it stay correct.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse

from migrator.core import crypto


class WebhookEndpointQuerySet(models.QuerySet["WebhookEndpoint"]):
    def visible_to(self, user) -> WebhookEndpointQuerySet:
        if user.is_authenticated and (user.is_superuser or user.has_perm("webhooks.view_webhookendpoint")):
            return self
        return self.none()

    def active(self) -> WebhookEndpointQuerySet:
        return self.filter(is_active=True)


class WebhookEndpoint(models.Model):
    """A receiver URL, the secret deliveries are signed with (stored encrypted), and the events it wants."""

    name = models.CharField(max_length=100, help_text="Who receives it, e.g. 'support Slack relay'.")
    # Not a URLField: internal receivers often have host names without a dot (``http://relay:8080/``), which
    # Django's URLValidator refuses; ``transport.check_url`` is the one rule.
    url = models.CharField(max_length=500, help_text="http:// or https:// URL that accepts POST requests.")
    secret_encrypted = models.TextField(editable=False)
    secret_hint = models.CharField(max_length=16, blank=True, help_text="Last characters, to recognise it.")
    events = models.JSONField(default=list, blank=True, help_text="Event types this endpoint receives.")
    is_active = models.BooleanField(default=True)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    # After a rotation deliveries are signed with both secrets until this time, so receivers can switch over
    # without refusing anything in between.
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)

    objects = WebhookEndpointQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("webhooks:detail", args=[self.pk])

    def set_secret(self, plaintext: str) -> None:
        self.secret_encrypted = crypto.encrypt(plaintext)
        self.secret_hint = plaintext[-4:]

    def get_secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted)

    def signing_secrets(self, now=None) -> list[str]:
        """The current secret, then the previous one while its overlap lasts."""
        from django.utils import timezone

        secrets = [self.get_secret()]
        now = now or timezone.now()
        if self.previous_secret_encrypted and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            secrets.append(crypto.decrypt(self.previous_secret_encrypted))
        return secrets

    def wants(self, event: str) -> bool:
        return self.is_active and event in (self.events or [])


class WebhookEvent(models.Model):
    """One thing that happened, as sent to receivers. ``uuid`` is the event id receivers deduplicate on."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField(default=dict)
    actor_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.uuid}"

    @property
    def event_id(self) -> str:
        return f"evt_{self.uuid.hex}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"  # gave up: every attempt failed, or the endpoint was removed or disabled


DELIVERY_TRANSITIONS: dict[str, set[str]] = {
    DeliveryStatus.PENDING: {DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED},
    DeliveryStatus.SUCCEEDED: set(),
    DeliveryStatus.FAILED: set(),
}


class Delivery(models.Model):
    """One event sent (or being sent) to one endpoint, with its retry bookkeeping."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    redelivery_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING,
                              db_index=True)
    STATUS_TRANSITIONS = DELIVERY_TRANSITIONS  # moved only by migrator.core.status.move / move_all
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The job that owns the next attempt; set when an attempt is scheduled, cleared when it ends. A second job
    # for the same delivery (a worker re-running a task, the retry sweeper racing) finds it taken and stops.
    job_id = models.PositiveBigIntegerField(null=True, blank=True)
    in_flight_since = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"delivery #{self.pk} of {self.event.type} to {self.endpoint}"

    @property
    def badge(self) -> str:
        return {"pending": "queued", "succeeded": "succeeded", "failed": "failed"}.get(self.status, "unknown")


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery, for the delivery log."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    job_id = models.PositiveBigIntegerField(null=True, blank=True)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    succeeded = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhooks_attempt_unique")]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery #{self.delivery_id}"
