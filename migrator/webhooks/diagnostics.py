"""Webhooks' system check (discovered by migrator.diagnostics): are notifications reaching their receivers?"""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from migrator.core.diagnostics import Finding, system_check


@system_check("webhooks", title="Webhook deliveries", order=70)
def webhook_deliveries() -> Finding | None:
    from migrator.webhooks.models import Delivery, DeliveryStatus, WebhookEndpoint
    from migrator.webhooks.services import overdue_deliveries

    endpoints = WebhookEndpoint.objects.active().count()
    if not endpoints:
        return Finding.ok("No active webhook endpoint.", fix_url=reverse("webhooks:list"))
    since = timezone.now() - timedelta(days=1)
    recent = Delivery.objects.filter(created_at__gte=since)
    failed = recent.filter(status=DeliveryStatus.FAILED)
    overdue = overdue_deliveries().count()
    evidence = {"active_endpoints": endpoints, "last_24h": recent.count(), "failed_24h": failed.count(),
                "retries_overdue": overdue}
    last_failed = failed.select_related("endpoint").order_by("-created_at").first()
    if overdue:
        return Finding.fail(f"{overdue} webhook retr{'y is' if overdue == 1 else 'ies are'} overdue: no worker is "
                            "sweeping for due deliveries.", evidence=evidence, fix_url=reverse("webhooks:list"),
                            fix_label="Webhooks")
    if last_failed is not None:
        return Finding.warn(f"{failed.count()} delivery(ies) failed in the last 24 hours (latest to "
                            f"'{last_failed.endpoint.name}': {last_failed.error[:160]})", evidence=evidence,
                            fix_url=reverse("webhooks:detail", args=[last_failed.endpoint_id]) + "?status=failed",
                            fix_label="Delivery log")
    return Finding.ok(f"{endpoints} active endpoint(s); no failed delivery in the last 24 hours.", evidence=evidence)
