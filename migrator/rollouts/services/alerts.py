"""OpenAI's webhooks as a pause signal for rollouts in progress.

OpenAI signs its webhooks with Standard Webhooks (``rollouts.standard_webhooks``). Its published event types
(the ``webhooks`` of its OpenAPI document) are about single objects — ``response.completed/failed/
cancelled/incomplete`` of background responses, ``batch.*``, ``fine_tuning.job.*``, ``eval.run.*``,
``realtime.call.incoming`` — there is no health or incident event. What comes closest is a burst of failed
responses, so by default ``OPENAI_WEBHOOK_PAUSE_AFTER`` (3) ``response.failed`` events within ten minutes pause
every rollout in progress: one failed response is a bad request, three in ten minutes look like the provider.
``OPENAI_WEBHOOK_PAUSE_EVENTS`` names the types that count (add a health event the day OpenAI sends one).

Every verified event is recorded once per ``webhook-id`` (OpenAI retries deliveries): a retry changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from migrator.core.services import ServiceError
from migrator.rollouts.models import ProviderEvent

PAUSE_WINDOW = timedelta(minutes=10)
DATA_LIMIT = 8_000  # characters of an event's data kept (OpenAI's are a few ids)


class InvalidEvent(ServiceError):
    """The body is not an OpenAI webhook event (a JSON object with a ``type``)."""


@dataclass
class Received:
    event: ProviderEvent
    duplicate: bool = False
    paused: list[str] = field(default_factory=list)  # slugs of the flows this event paused


def _parse(body: bytes) -> dict:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvent(f"The body is not JSON ({exc}).") from None
    if not isinstance(payload, dict):
        raise InvalidEvent("The body must be a JSON object (an OpenAI webhook event).")
    kind = payload.get("type")
    if not isinstance(kind, str) or not kind.strip() or len(kind) > 100:
        raise InvalidEvent("The event has no type (a string such as \"response.failed\").")
    return payload


def _when(value) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def receive(*, webhook_id: str, body: bytes) -> Received:
    """Record one verified delivery and act on it: pause every rollout in progress when it completes a burst
    of pause events. The signature is the caller's to check (the endpoint does, before anything else)."""
    from migrator.rollouts.services import guard

    payload = _parse(body)
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    if len(json.dumps(data)) > DATA_LIMIT:
        data = {"omitted": f"larger than {DATA_LIMIT:,} characters", "id": str(data.get("id", ""))[:200]}
    event_id = payload.get("id") if isinstance(payload.get("id"), str) else ""
    now = timezone.now()
    try:
        with transaction.atomic():
            event = ProviderEvent.objects.create(webhook_id=webhook_id, event_id=event_id[:200],
                                                 type=payload["type"].strip(), created_at=_when(
                                                     payload.get("created_at")), received_at=now, data=data)
    except IntegrityError:
        return Received(ProviderEvent.objects.get(webhook_id=webhook_id), duplicate=True)
    kinds = settings.OPENAI_WEBHOOK_PAUSE_EVENTS
    if event.type not in kinds:
        return Received(event)
    recent = ProviderEvent.objects.filter(type__in=kinds, received_at__gte=now - PAUSE_WINDOW).count()
    if recent < settings.OPENAI_WEBHOOK_PAUSE_AFTER:
        return Received(event)
    at = event.created_at or event.received_at
    summary = (f"OpenAI sent {recent} {' / '.join(kinds)} event{'s' if recent != 1 else ''} within "
               f"{int(PAUSE_WINDOW.total_seconds() // 60)} minutes (the latest {event.type} "
               f"{event.event_id or event.webhook_id} at {at:%H:%M:%S} UTC)")
    figures = {"event_type": event.type, "event_id": event.event_id, "webhook_id": event.webhook_id,
               "events_in_window": recent, "window_minutes": int(PAUSE_WINDOW.total_seconds() // 60),
               "threshold": settings.OPENAI_WEBHOOK_PAUSE_AFTER, "at": at.isoformat()}
    flows = guard.pause_in_progress(summary=summary, figures=figures)
    if flows:
        ProviderEvent.objects.filter(pk=event.pk).update(paused=len(flows))
        event.paused = len(flows)
    return Received(event, paused=[f.slug for f in flows])
