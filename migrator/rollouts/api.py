"""``POST /api/v1/flows/<slug>/outcomes``: migrator-client's outcome reports, token-scoped like the config API.

Mounted on the production API (``migrator.flows.api``) at the project level. Idempotent per ``batch_id``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from migrator.core.models import Flow
from migrator.flows.api import ApiTokenAuth, ErrorOut, error
from migrator.rollouts.services import outcomes as outcome_services
from migrator.rollouts.services.outcomes import InvalidOutcomes

router = Router(tags=["outcomes"])


class OutcomeBatchIn(Schema):
    batch_id: str = Field(description="Unique per batch and the same on every retry of it (a uuid): a batch "
                                      "already accepted is answered again without counting twice.")
    outcomes: list[Any] = Field(description=(
        "Up to 5,000 outcomes: `release` (hash that served the call, required), `role` (production, candidate or "
        "shadow), `at` (epoch seconds), `latency_ms` (required), `ttft_ms`, `error` (error class or null), "
        "`output_types`, `tool_calls` (function names), `schema_valid` (true/false/null), `refusal`, "
        "`input_tokens`, `output_tokens`, `model`, `agreement` (shadow: 0–1). No user content."))


class OutcomeBatchOut(Schema):
    accepted: int = Field(description="Outcomes stored by this call (0 for a batch id already accepted).")
    duplicate: bool


@router.post(
    "/flows/{slug}/outcomes",
    auth=ApiTokenAuth(),
    response={200: OutcomeBatchOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Report production outcomes of a flow (migrator-client sends these)",
    operation_id="post_flow_outcomes",
    url_name="flow_outcomes",
)
def post_outcomes(request: HttpRequest, slug: str, payload: OutcomeBatchIn):
    """Per-minute aggregates per release (counts, error rate, latency and TTFT percentiles, schema-valid rate,
    tool calls, refusals, tokens, cost) feed the cutover's guard; raw rows are kept for a short window.

    - 400 `invalid_outcomes` names the first bad field (`outcomes[3].latency_ms …`); nothing of the batch is kept;
    - 401/403/404 as for the config API (a token limited to other flows gets 403 for any slug).
    """
    token = request.auth
    flow = Flow.objects.filter(slug=slug[:100]).only("pk", "slug").first() if len(slug) <= 100 else None
    scoped = token.flows.exists()
    if (flow is None and scoped) or (flow is not None and scoped and not token.flows.filter(pk=flow.pk).exists()):
        return error(403, "token_not_allowed", "This token may not report on that flow; it covers only the flows "
                                               "it was created for.")
    if flow is None:
        shown = slug[:100].encode("unicode_escape").decode()
        return error(404, "flow_not_found", f"There is no flow with the slug '{shown}'.")
    try:
        result = outcome_services.ingest(flow_id=flow.pk, batch_id=payload.batch_id, outcomes=payload.outcomes)
    except InvalidOutcomes as exc:
        return error(400, "invalid_outcomes", str(exc))
    if result.accepted:
        from migrator.rollouts.services import guard

        guard.evaluate_soon(flow.pk)  # off the request path
    return Status(200, {"accepted": result.accepted, "duplicate": result.duplicate})


class ProviderEventOut(Schema):
    received: bool = Field(description="The event is recorded (true for a retried delivery too).")
    duplicate: bool = Field(description="This webhook-id was received before; nothing was done again.")
    paused: int = Field(description="Rollouts in progress this event paused (0 unless it completed a burst of "
                                    "pause events, OPENAI_WEBHOOK_PAUSE_EVENTS / _AFTER).")


@router.post(
    "/openai/webhooks",
    auth=None,
    response={200: ProviderEventOut, 400: ErrorOut, 404: ErrorOut},
    summary="Receive OpenAI's webhooks (Standard Webhooks signatures); failure bursts pause rollouts",
    operation_id="post_openai_webhook",
    url_name="openai_webhook",
)
def post_openai_webhook(request: HttpRequest):
    """Point OpenAI's dashboard (Settings → Webhooks) here and set `OPENAI_WEBHOOK_SECRET` to its `whsec_…`
    secret. Authenticated by the signature alone: `webhook-id`, `webhook-timestamp` and `webhook-signature`
    (HMAC-SHA256 of `id.timestamp.body`), at most 5 minutes old.

    - 400 `invalid_signature` says what is wrong (missing header, too old, no match); nothing is recorded;
    - 400 `invalid_event` when a signed body is not an event (a JSON object with a `type`);
    - 404 `not_configured` while no secret is set.
    """
    from django.conf import settings

    from migrator.rollouts import standard_webhooks
    from migrator.rollouts.services import alerts

    if not settings.OPENAI_WEBHOOK_SECRETS:
        return error(404, "not_configured", "OpenAI webhooks are not configured here: set OPENAI_WEBHOOK_SECRET "
                                            "to the whsec_… secret of the endpoint in OpenAI's dashboard.")
    body = request.body
    try:
        webhook_id, _timestamp = standard_webhooks.verify(settings.OPENAI_WEBHOOK_SECRETS, request.headers, body)
    except standard_webhooks.SignatureError as exc:
        return error(400, "invalid_signature", str(exc))
    try:
        result = alerts.receive(webhook_id=webhook_id, body=body)
    except alerts.InvalidEvent as exc:
        return error(400, "invalid_event", str(exc))
    return Status(200, {"received": True, "duplicate": result.duplicate, "paused": result.event.paused})
