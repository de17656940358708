"""Webhook services: configure endpoints, emit events, deliver them with retries, redeliver, send a test.

Delivery semantics are *at least once*: each (event, endpoint) pair is one :class:`Delivery` row, retried with
exponential backoff until a 2xx answer or ``WEBHOOK_MAX_ATTEMPTS``. Every attempt runs as a job
(``webhooks.deliver``); the delivery row names the job that owns its next attempt, so a job that runs twice, or
a second job for the same delivery, sends nothing. A worker that dies in the middle of a request can leave the
receiver unsure whether it was delivered; the retry then carries the same event id, which is why receivers
deduplicate on ``X-Migrator-Event-Id``.
"""

from __future__ import annotations

import json
import logging
import random
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from migrator.core.actors import check_actor, label_of, require, system, user_or_none
from migrator.core.models import Job
from migrator.core.models.job import JOB_FINISHED
from migrator.core.services import ServiceError, audit
from migrator.core.services.jobs import start_job
from migrator.core.status import move_all
from migrator.webhooks import signing, transport
from migrator.webhooks.events import EVENTS, TEST_EVENT
from migrator.webhooks.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    WebhookEndpoint,
    WebhookEvent,
)

logger = logging.getLogger(__name__)

JOB_KIND = "webhooks.deliver"
# Delivery jobs run as this actor, not as the person whose action emitted the event: they need no permission
# and should not fill that person's job list.
DELIVERY_ACTOR = system("webhooks", "webhook delivery", perms=set())
MAX_PAYLOAD_BYTES = 256 * 1024
SECRET_OVERLAP = timedelta(hours=24)


# --- endpoints -----------------------------------------------------------------------------------------------


def _snapshot(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {"name": endpoint.name, "url": endpoint.url, "events": list(endpoint.events or []),
            "is_active": endpoint.is_active, "secret_hint": endpoint.secret_hint}


def _clean_events(events: list[str] | None) -> list[str]:
    chosen = sorted({(e or "").strip() for e in events or [] if (e or "").strip()})
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise ServiceError(f"Unknown event type(s): {', '.join(unknown)}. Choose from: {', '.join(EVENTS)}.")
    if not chosen:
        raise ServiceError("Choose at least one event for the endpoint to receive.")
    return chosen


def _clean(name: str, url: str) -> tuple[str, str]:
    name = (name or "").strip()
    if not name:
        raise ServiceError("Name the endpoint (who receives it).")
    try:
        url = transport.check_destination(url)
    except transport.BadURL as exc:
        raise ServiceError(f"URL: {exc}") from None
    if len(url) > 500:
        raise ServiceError("URL: keep it under 500 characters.")
    return name[:100], url


def create_endpoint(*, actor, name: str, url: str, events: list[str], description: str = "",
                    is_active: bool = True) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint; returns (row, secret). The secret is shown to the user once, then only its hint."""
    require(actor, "webhooks.add_webhookendpoint", action="add webhook endpoints")
    name, url = _clean(name, url)
    chosen = _clean_events(events)
    secret = signing.new_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint(name=name, url=url, events=chosen, is_active=is_active,
                                   description=(description or "").strip(), created_by=user_or_none(actor))
        endpoint.set_secret(secret)
        endpoint.save()
        audit.record(actor=actor, verb="migrator.webhook.created", obj=endpoint, after=_snapshot(endpoint))
    return endpoint, secret


def _locked(endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
    if endpoint is None:
        raise ServiceError(f"Webhook endpoint #{endpoint_id} does not exist.")
    return endpoint


def update_endpoint(*, actor, endpoint_id: int, name: str, url: str, events: list[str], description: str = "",
                    is_active: bool = True) -> WebhookEndpoint:
    require(actor, "webhooks.change_webhookendpoint", action="change webhook endpoints")
    name, url = _clean(name, url)
    chosen = _clean_events(events)
    with transaction.atomic():
        endpoint = _locked(endpoint_id)
        before = _snapshot(endpoint)
        endpoint.name, endpoint.url, endpoint.events = name, url, chosen
        endpoint.description, endpoint.is_active = (description or "").strip(), is_active
        endpoint.save()
        after = _snapshot(endpoint)
        if before != after:
            audit.record(actor=actor, verb="migrator.webhook.changed", obj=endpoint, before=before, after=after)
    return endpoint


def set_active(*, actor, endpoint_id: int, active: bool) -> WebhookEndpoint:
    require(actor, "webhooks.change_webhookendpoint", action="enable or disable webhook endpoints")
    with transaction.atomic():
        endpoint = _locked(endpoint_id)
        if endpoint.is_active != active:
            endpoint.is_active = active
            endpoint.save(update_fields=["is_active", "updated_at"])
            audit.record(actor=actor, verb="migrator.webhook.enabled" if active else "migrator.webhook.disabled",
                         obj=endpoint)
    return endpoint


def rotate_secret(*, actor, endpoint_id: int) -> tuple[WebhookEndpoint, str]:
    """A new secret for the next attempt of every delivery (pending retries included). For SECRET_OVERLAP the
    old secret signs too (a second ``v1``), so the receiver can be updated without refusing deliveries."""
    require(actor, "webhooks.change_webhookendpoint", action="rotate webhook secrets")
    secret = signing.new_secret()
    with transaction.atomic():
        endpoint = _locked(endpoint_id)
        old_hint = endpoint.secret_hint
        endpoint.previous_secret_encrypted = endpoint.secret_encrypted
        endpoint.previous_secret_expires_at = timezone.now() + SECRET_OVERLAP
        endpoint.set_secret(secret)
        endpoint.secret_rotated_at = timezone.now()
        endpoint.save(update_fields=["secret_encrypted", "secret_hint", "secret_rotated_at", "updated_at",
                                     "previous_secret_encrypted", "previous_secret_expires_at"])
        audit.record(actor=actor, verb="migrator.webhook.secret_rotated", obj=endpoint,
                     before={"secret_hint": old_hint}, after={"secret_hint": endpoint.secret_hint})
    return endpoint, secret


def delete_endpoint(*, actor, endpoint_id: int) -> None:
    require(actor, "webhooks.delete_webhookendpoint", action="delete webhook endpoints")
    with transaction.atomic():
        endpoint = _locked(endpoint_id)
        audit.record(actor=actor, verb="migrator.webhook.deleted", obj=endpoint, before=_snapshot(endpoint),
                     data={"deliveries": endpoint.deliveries.count()})
        endpoint.delete()  # its deliveries go with it; a job still queued for one finds nothing and stops


# --- emitting --------------------------------------------------------------------------------------------------


def event_body(event: WebhookEvent) -> bytes:
    body = {"id": event.event_id, "type": event.type, "created": int(event.created_at.timestamp()),
            "actor": event.actor_label, "data": event.payload}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder).encode()


def _json_payload(payload: dict) -> dict:
    if not isinstance(payload, dict):
        raise ServiceError("A webhook payload must be a JSON object (a dict).")
    try:
        text = json.dumps(payload, cls=DjangoJSONEncoder, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ServiceError(f"The webhook payload is not JSON-serialisable: {exc}") from None
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise ServiceError(f"The webhook payload is larger than {MAX_PAYLOAD_BYTES // 1024} KiB.")
    return json.loads(text)  # what is stored is exactly what is sent (dates as ISO strings, etc.)


def _queue(delivery: Delivery) -> Job:
    """Start the job for the delivery's next attempt and make it the owner (inside the caller's transaction)."""
    job = start_job(kind=JOB_KIND, actor=DELIVERY_ACTOR, params={"delivery_id": delivery.pk}, subject=delivery,
                    subject_label=f"{delivery.event.type} → {delivery.endpoint.name}")
    Delivery.objects.filter(pk=delivery.pk).update(job_id=job.pk, next_attempt_at=None)
    delivery.job_id = job.pk
    return job


def _record_event(event: str, payload: dict, actor) -> WebhookEvent:
    return WebhookEvent.objects.create(type=event, payload=_json_payload(payload), actor_label=label_of(actor)[:150])


def emit(*, event: str, payload: dict, actor) -> int:
    """Record ``event`` for every active endpoint subscribed to it; returns how many deliveries were recorded.

    Call it inside the transaction of the action the event reports: the deliveries are written in that
    transaction and their jobs are enqueued only after it commits, so a rolled-back action notifies nobody.
    """
    check_actor(actor)
    if event not in EVENTS:
        raise ServiceError(f"Unknown webhook event {event!r}; known events: {', '.join(EVENTS)}.")
    endpoints = [e for e in WebhookEndpoint.objects.active() if e.wants(event)]
    if not endpoints:
        _json_payload(payload)  # a bad payload is a bug in the caller even when nobody listens
        return 0
    with transaction.atomic():
        record = _record_event(event, payload, actor)
        for endpoint in endpoints:
            _queue(Delivery.objects.create(endpoint=endpoint, event=record))
    return len(endpoints)


def send_test(*, actor, endpoint_id: int) -> Delivery:
    """Send a ``webhook.test`` event to one endpoint, whatever it subscribes to."""
    require(actor, "webhooks.change_webhookendpoint", action="send test webhooks")
    with transaction.atomic():
        endpoint = _locked(endpoint_id)
        if not endpoint.is_active:
            raise ServiceError(f"'{endpoint.name}' is disabled; enable it before sending a test event.")
        record = _record_event(TEST_EVENT, {
            "message": "This is a test delivery from migrator.",
            "endpoint": {"id": endpoint.pk, "name": endpoint.name},
        }, actor)
        delivery = Delivery.objects.create(endpoint=endpoint, event=record)
        _queue(delivery)
        audit.record(actor=actor, verb="migrator.webhook.test_sent", obj=endpoint, data={"delivery": delivery.pk})
    return delivery


def redeliver(*, actor, delivery_id: int) -> Delivery:
    """Send an earlier delivery's event again, as a new delivery row with the same event id."""
    require(actor, "webhooks.change_webhookendpoint", action="redeliver webhooks")
    with transaction.atomic():
        original = Delivery.objects.select_related("endpoint", "event").filter(pk=delivery_id).first()
        if original is None:
            raise ServiceError(f"Delivery #{delivery_id} does not exist.")
        endpoint = _locked(original.endpoint_id)
        if not endpoint.is_active:
            raise ServiceError(f"'{endpoint.name}' is disabled; enable it before redelivering.")
        if original.status == DeliveryStatus.PENDING:
            raise ServiceError(f"Delivery #{original.pk} is still being retried; wait for it to end.")
        delivery = Delivery.objects.create(endpoint=endpoint, event=original.event, redelivery_of=original)
        _queue(delivery)
        audit.record(actor=actor, verb="migrator.webhook.redelivered", obj=endpoint,
                     data={"delivery": delivery.pk, "of": original.pk, "event": original.event.event_id})
    return delivery


# --- delivering -------------------------------------------------------------------------------------------------


def backoff_seconds(attempts: int) -> float:
    """Delay before the next try after ``attempts`` failed ones: base × 2^(n-1), capped, with ±10% jitter."""
    base = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    delay = min(base, settings.WEBHOOK_RETRY_MAX_SECONDS)
    return delay * random.uniform(0.9, 1.1)


def request_for(delivery: Delivery) -> tuple[bytes, dict[str, str]]:
    """The exact body and signed headers of the delivery's next attempt."""
    body = event_body(delivery.event)
    headers = {
        signing.SIGNATURE_HEADER: signing.header_value(delivery.endpoint.signing_secrets(), body),
        signing.EVENT_ID_HEADER: delivery.event.event_id,
        signing.EVENT_TYPE_HEADER: delivery.event.type,
        signing.DELIVERY_HEADER: str(delivery.pk),
    }
    return body, headers


def _give_up(delivery_id: int, error: str) -> None:
    move_all(Delivery.objects.filter(pk=delivery_id), DeliveryStatus.FAILED,  # only a pending one (the table)
             error=error[:2000], finished_at=timezone.now(), job_id=None, in_flight_since=None, next_attempt_at=None)


def attempt_delivery(*, delivery_id: int, job_id: int) -> dict[str, Any]:
    """Make one attempt of a delivery owned by ``job_id``. Returns what happened; never sends twice.

    Raises :class:`ServiceError` when the receiver refused or could not be reached (the job is then failed with
    that reason, and the delivery is scheduled for its next attempt or given up).
    """
    now = timezone.now()
    # Claim: only the owning job, only while pending, only when no attempt of it is in flight.
    claimed = Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, job_id=job_id,
                                      in_flight_since__isnull=True).update(in_flight_since=now)
    if not claimed:
        current = Delivery.objects.filter(pk=delivery_id).values("status", "job_id").first()
        if current is None:
            return {"outcome": "skipped", "reason": "The delivery no longer exists (its endpoint was deleted)."}
        return {"outcome": "skipped", "reason": f"The delivery is {current['status']} and owned by job "
                                                f"{current['job_id'] or 'none'}; this run sends nothing."}
    delivery = Delivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    if not delivery.endpoint.is_active and delivery.event.type != TEST_EVENT:
        _give_up(delivery_id, "The endpoint was disabled before this delivery was sent.")
        return {"outcome": "failed", "reason": "endpoint disabled"}
    try:
        body, headers = request_for(delivery)
    except Exception as exc:  # an unreadable secret (encryption key changed): retrying cannot help
        _give_up(delivery_id, f"Could not sign the delivery: {exc}")
        raise ServiceError(f"Could not sign the delivery: {exc}") from None
    result = transport.post(delivery.endpoint.url, body, headers)
    number = delivery.attempts + 1
    with transaction.atomic():
        DeliveryAttempt.objects.create(delivery=delivery, number=number, job_id=job_id,
                                       response_code=result.status_code, response_excerpt=result.excerpt,
                                       duration_ms=result.duration_ms, error=result.error, succeeded=result.ok)
        fields: dict[str, Any] = {"attempts": F("attempts") + 1, "response_code": result.status_code,
                                  "duration_ms": result.duration_ms, "error": result.error[:2000],
                                  "in_flight_since": None, "job_id": None}
        owned = Delivery.objects.filter(pk=delivery_id, job_id=job_id)
        if result.ok or number >= settings.WEBHOOK_MAX_ATTEMPTS:
            to = DeliveryStatus.SUCCEEDED if result.ok else DeliveryStatus.FAILED
            move_all(owned, to, finished_at=timezone.now(), next_attempt_at=None, **fields)
        else:
            owned.update(next_attempt_at=timezone.now() + timedelta(seconds=backoff_seconds(number)), **fields)
    if result.ok:
        return {"outcome": "succeeded", "attempt": number, "status_code": result.status_code,
                "duration_ms": result.duration_ms}
    if number >= settings.WEBHOOK_MAX_ATTEMPTS:
        raise ServiceError(f"Attempt {number} of {settings.WEBHOOK_MAX_ATTEMPTS} failed: {result.error.rstrip('.')}. "
                           "Giving up; redeliver from the endpoint's page once the receiver is fixed.")
    delivery.refresh_from_db(fields=["next_attempt_at"])
    when = delivery.next_attempt_at.strftime("%H:%M:%S") if delivery.next_attempt_at else "soon"
    raise ServiceError(f"Attempt {number} of {settings.WEBHOOK_MAX_ATTEMPTS} failed: {result.error.rstrip('.')}. "
                       f"Next attempt at {when} UTC.")


def schedule_due(*, now=None) -> int:
    """Queue a job for every pending delivery whose next attempt is due; returns how many were queued.

    Safe to run in several workers at once: a delivery is taken by a conditional update, and the job created
    for a delivery someone else took is rolled back with it. Also frees deliveries whose owning job ended
    without finishing them (the worker died mid-attempt), so they are retried instead of hanging.
    """
    now = now or timezone.now()
    owned = dict(Delivery.objects.filter(status=DeliveryStatus.PENDING, job_id__isnull=False)
                 .values_list("pk", "job_id"))
    if owned:
        ended = set(Job.objects.filter(pk__in=set(owned.values()), status__in=JOB_FINISHED).values_list("pk", flat=True))
        orphaned = [pk for pk, job in owned.items() if job in ended]
        if orphaned:
            Delivery.objects.filter(pk__in=orphaned, job_id__in=ended).update(
                job_id=None, in_flight_since=None, next_attempt_at=now,
                error="The job for the last attempt ended without recording an outcome (its worker stopped); "
                      "retrying.")
    queued = 0
    due = Delivery.objects.filter(status=DeliveryStatus.PENDING, job_id__isnull=True, next_attempt_at__lte=now)
    for delivery in due.select_related("endpoint", "event").order_by("next_attempt_at")[:200]:
        try:
            with transaction.atomic():
                job = start_job(kind=JOB_KIND, actor=DELIVERY_ACTOR, params={"delivery_id": delivery.pk},
                                subject=delivery, subject_label=f"{delivery.event.type} → {delivery.endpoint.name}")
                taken = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING, job_id__isnull=True
                                                ).update(job_id=job.pk, next_attempt_at=None)
                if not taken:
                    raise _Taken
            queued += 1
        except _Taken:
            continue
    return queued


class _Taken(Exception):
    """Another worker queued this delivery first; roll our job back."""


def overdue_deliveries(*, older_than_seconds: int = 300):
    """Pending deliveries whose attempt is long overdue (no worker is sweeping): for diagnostics."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return Delivery.objects.filter(status=DeliveryStatus.PENDING, job_id__isnull=True, next_attempt_at__lt=cutoff)
