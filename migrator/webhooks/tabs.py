"""The Webhooks sidebar entry (discovered by migrator.core.navigation), with a count of failed deliveries."""

from migrator.core.navigation import Tab


def failing(user) -> int:
    from migrator.webhooks.models import Delivery, DeliveryStatus

    if not user.has_perm("webhooks.change_webhookendpoint"):
        return 0
    # Failed deliveries of the last day whose event no later delivery to that endpoint delivered.
    from datetime import timedelta

    from django.utils import timezone

    since = timezone.now() - timedelta(days=1)
    failed = Delivery.objects.filter(status=DeliveryStatus.FAILED, created_at__gte=since)
    recovered = Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED, created_at__gte=since)
    return failed.exclude(event_id__in=recovered.values("event_id")).values("event_id", "endpoint_id").distinct().count()


NAV = (
    Tab("webhooks", "Webhooks", "webhooks:list", "webhooks.view_webhookendpoint", order=80,
        match=(("webhooks", ""),), badge=failing),
)
