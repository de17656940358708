"""Retirement job kinds: the catalogue sync and the autopilot, so both show on the Jobs page with who ran them."""

from __future__ import annotations

from django.urls import reverse

from migrator.core.actors import is_user
from migrator.core.jobs import job_handler
from migrator.core.services.jobs import JobContext
from migrator.retirement.services import catalogue


@job_handler("retirement.sync_models", label="Sync model catalogue", soft_time_limit=600, time_limit=660)
def sync_models(ctx: JobContext) -> dict:
    ctx.produced(reverse("retirement:catalogue"), "Model catalogue")
    # Started by a person: as them; by the beat schedule: as the sync actor, never as an all-powerful job actor.
    actor = ctx.actor if is_user(ctx.actor) else catalogue.SYNC_ACTOR
    result = catalogue.sync(actor=actor, connection_name=ctx.params.get("connection"))
    for name, outcome in result.connections.items():
        ctx.log(f"{name}: {outcome}")
    for notice in result.notices:
        ctx.log(f"notice: {notice.summary}")
    return {"models": len(result.entries), "notices": len(result.notices), "connections": result.connections}


@job_handler("retirement.autopilot", label="Retirement autopilot", soft_time_limit=3 * 3600, time_limit=3 * 3600 + 300)
def autopilot_run(ctx: JobContext) -> dict:
    from datetime import date

    from migrator.retirement.services import autopilot

    ctx.produced(reverse("retirement:autopilot"), "Autopilot")
    # A person who pressed "Run now" is recorded as who asked; every step acts as the autopilot either way.
    asked_by = ctx.actor if is_user(ctx.actor) else autopilot.AUTOPILOT
    as_of = date.fromisoformat(ctx.params["as_of"]) if ctx.params.get("as_of") else None
    outcomes = autopilot.run(actor=asked_by, as_of=as_of, flow_slug=ctx.params.get("flow"),
                             budget_usd=ctx.params.get("budget_usd"))
    for o in outcomes:
        if o.action != "none":
            ctx.log(f"{o.slug}: {o.action}{f' (request #{o.request_id})' if o.request_id else ''} {o.reason}".strip())
    return {"flows": [o.as_json() for o in outcomes]}
