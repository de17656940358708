"""Webhook job kinds (registered from WebhooksConfig.ready, so core's job list needs no edit)."""

from __future__ import annotations

from migrator.core.jobs import job_handler
from migrator.core.services import ServiceError
from migrator.core.services.jobs import JobContext
from migrator.webhooks import services


# One HTTP attempt with its own timeout (WEBHOOK_TIMEOUT_SECONDS, at most a few minutes in practice).
@job_handler(services.JOB_KIND, label="Webhook delivery", soft_time_limit=300, time_limit=330)
def deliver(ctx: JobContext) -> dict:
    try:
        delivery_id = int(ctx.params["delivery_id"])
    except (KeyError, TypeError, ValueError):
        raise ServiceError("This job names no delivery (params.delivery_id).") from None
    result = services.attempt_delivery(delivery_id=delivery_id, job_id=ctx.job_id)
    ctx.log(f"Delivery #{delivery_id}: {result.get('outcome')}"
            + (f" ({result['reason']})" if result.get("reason") else "")
            + (f", HTTP {result['status_code']} in {result['duration_ms']} ms" if result.get("status_code") else ""))
    return result
