"""Evidence is bound to the configuration and the mode: when either changes, open requests are void and
claimed flow statuses move back (see services.evidence_changed)."""

from __future__ import annotations

from django.dispatch import receiver

from migrator.core.models import Flow
from migrator.core.signals import approved_version_changed, flow_settings_changed
from migrator.cutover import services


@receiver(approved_version_changed, dispatch_uid="cutover.approved_version_changed")
def _approved_version_changed(sender, *, assistant_id: int, version, previous, actor, **_) -> None:
    why = f"v{version.number} was approved" + (f" in place of v{previous.number}" if previous else "")
    for flow in Flow.objects.filter(assistant_id=assistant_id):
        services.evidence_changed(flow=flow, actor=actor, why=why)


@receiver(flow_settings_changed, dispatch_uid="cutover.flow_settings_changed")
def _flow_settings_changed(sender, *, flow, before: dict, after: dict, actor, **_) -> None:
    changed = [k for k in ("mode", "store", "truncation", "streams") if k in after and before.get(k) != after.get(k)]
    if changed:
        services.evidence_changed(flow=flow, actor=actor, why="the flow's " + ", ".join(changed) + " changed")
