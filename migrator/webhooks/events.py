"""The event types migrator sends to webhooks. Endpoints subscribe to these; ``emit`` refuses any other."""

from __future__ import annotations

TEST_EVENT = "webhook.test"

# name -> what it means, shown on the endpoint form and in docs/webhooks.md.
EVENTS: dict[str, str] = {
    "cutover.requested": "An engineer put a flow forward for cutover with a version and its evidence.",
    "cutover.approved": "A support lead approved a cutover request.",
    "cutover.declined": "A support lead declined a cutover request.",
    "cutover.ramped": "A flow's rollout moved to a new percentage.",
    "cutover.completed": "A flow's rollout reached 100%: the flow is migrated.",
    "cutover.rolled_back": "A flow's rollout was rolled back to the previous version.",
    "cutover.guard_breached": "A rollout guard saw the candidate breach a limit (metric and figures) and paused "
                              "the ramp or rolled it back.",
    "cutover.voided": "An open cutover request (or its approval) became void: the version or mode changed.",
    "validation.run_finished": "A validation run finished (passed, failed or incomplete).",
    "backfill.run_finished": "A backfill of legacy threads into conversations finished.",
    "models.catalogue_changed": "A model's named successor changed, or a shutdown date appeared or moved; lists the "
                                "flows on that model.",
    "autopilot.request_filed": "The retirement autopilot filed a cutover request for a flow whose model shuts down "
                               "soon (it never approves).",
}

# Sent only by the "Send test event" button, to one endpoint, whatever it subscribes to.
ALL_EVENTS: dict[str, str] = {**EVENTS, TEST_EVENT: "A test delivery from the endpoint's page."}


def choices() -> list[tuple[str, str]]:
    return [(name, name) for name in EVENTS]
