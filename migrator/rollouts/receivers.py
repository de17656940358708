"""How the cutover reaches the guard without importing this app (signals defined in core)."""

from __future__ import annotations

from migrator.core.services import ServiceError
from migrator.core.signals import (
    cutover_command,
    cutover_ramp_check,
    cutover_serving_extra,
    cutover_status_extra,
)


def _ramp_check(sender, *, flow, **_: object) -> str:
    from migrator.rollouts.services.guard import ramp_blocked

    return ramp_blocked(flow)


def _status_extra(sender, *, flows, **_: object) -> dict:
    from migrator.rollouts.selectors import live_status

    return live_status(list(flows))


def _serving_extra(sender, *, flow, rollout, role: str, **_: object) -> dict | None:
    from migrator.rollouts.services.shadow import serving_extra

    return serving_extra(flow=flow, rollout=rollout, role=role)


def _command(sender, *, action: str, flow, user, options: dict, **_: object) -> str | None:
    if action == "shadow":
        from migrator.rollouts.services.shadow import set_shadow

        if options.get("share") is None:
            raise ServiceError("cutover shadow needs --share P (percent of production calls; 0 stops it).")
        shadow = set_shadow(flow_id=flow.pk, actor=user, share=options["share"])
        if not shadow.share:
            return f"{flow.slug}: shadow run stopped."
        return f"{flow.slug}: {shadow.share}% of production calls also call the candidate in the background."
    if action != "guard":
        return None
    from migrator.rollouts.services import guard

    if options.get("min_sample") is None or options.get("max_error_rate_increase") is None \
            or not options.get("on_breach"):
        raise ServiceError("cutover guard needs --min-sample N, --max-error-rate-increase X and "
                           "--action pause|rollback.")
    g = guard.set_guard(flow_id=flow.pk, actor=user, min_sample=options["min_sample"],
                        max_error_rate_increase=options["max_error_rate_increase"],
                        max_schema_invalid_increase=options.get("max_schema_invalid_increase"),
                        max_p95_latency_ratio=options.get("max_p95_latency_ratio"),
                        max_tool_parity_drop=options.get("max_tool_parity_drop"),
                        soak_minutes=options.get("soak_minutes") or 0, action=options["on_breach"],
                        auto_advance=bool(options.get("auto_advance")))
    return (f"{flow.slug}: guard set (min sample {g.min_sample}, error rate +{g.max_error_rate_increase:g}, "
            f"on breach: {g.action}{', auto-advance' if g.auto_advance else ''}).")


cutover_ramp_check.connect(_ramp_check, dispatch_uid="migrator.rollouts.ramp_check")
cutover_status_extra.connect(_status_extra, dispatch_uid="migrator.rollouts.status_extra")
cutover_command.connect(_command, dispatch_uid="migrator.rollouts.command")
cutover_serving_extra.connect(_serving_extra, dispatch_uid="migrator.rollouts.serving_extra")
