"""The shadow stage: before (or while) real traffic moves, production clients also call the candidate on a
sampled share of calls, in the background with ``store: false``, and report both outcomes with their agreement.

Served through the config API (``shadow`` in the answer, for subjects on production) via the cutover's
``cutover_serving_extra`` signal; a change touches the flow's rollout so every client sees it on its next
revalidation (the answer's fingerprint includes the rollout's ``updated_at``).
"""

from __future__ import annotations

import copy
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from migrator.core.actors import require, user_or_none
from migrator.core.models import Flow
from migrator.core.services import ServiceError, audit
from migrator.rollouts.models import Shadow


def set_shadow(*, flow_id: int, actor, share: Any) -> Shadow:
    """Shadow ``share`` percent of production calls onto the flow's candidate (0 stops the shadow run)."""
    from migrator.cutover.models import FlowRollout

    require(actor, "cutover.ramp_cutover", action="run a shadow stage")
    try:
        value = Decimal(str(share).strip().rstrip("%"))
    except (InvalidOperation, ValueError) as exc:
        raise ServiceError(f"{share!r} is not a percentage: give a number from 0 to 100.") from exc
    if not value.is_finite() or not 0 <= value <= 100:
        raise ServiceError(f"The shadow share must be from 0 to 100 percent, not {share}.")
    with transaction.atomic():
        flow = Flow.objects.select_for_update().filter(pk=flow_id).first()
        if flow is None:
            raise ServiceError(f"Flow #{flow_id} does not exist.")
        rollout = FlowRollout.objects.select_for_update().filter(flow=flow).first()
        if value > 0 and (rollout is None or not rollout.candidate_id or not rollout.production_id):
            raise ServiceError(f"{flow.name} has no approved candidate beside a production version: a shadow run "
                               "compares the two, so approve a cutover first.")
        shadow, _ = Shadow.objects.get_or_create(flow=flow)
        before = float(shadow.share)
        shadow.share = value.quantize(Decimal("0.01"))
        shadow.started_at = timezone.now() if value > 0 else None
        shadow.set_by = user_or_none(actor)
        shadow.save()
        if rollout is not None:
            rollout.save(update_fields=["updated_at"])  # clients revalidate and see the change
        audit.record(actor=actor, verb="migrator.rollouts.shadow_set", obj=flow, before={"share": before},
                     after={"share": float(shadow.share)})
    return shadow


def pulled_releases(flow: Flow, rollout) -> list[str]:
    """Hashes of releases this flow rolled back and no longer serves: conversations pinned to one of them
    must move (migrator-client reads this; every other change leaves a conversation on its release)."""
    from migrator.cutover.models import ServingChange

    live = {getattr(rollout.production_release, "hash", None), getattr(rollout.candidate_release, "hash", None)}
    hashes = (ServingChange.objects.filter(flow=flow, kind="rollback", from_release__isnull=False)
              .order_by("-created_at", "-id").values_list("from_release__hash", flat=True)[:20])
    return sorted({h for h in hashes if h not in live})


def serving_extra(*, flow: Flow, rollout, role: str) -> dict[str, Any]:
    """Extra parts of a config API answer: the rolled-back releases, and ``shadow`` for subjects on production
    while a shadow run is on."""
    from migrator.cutover.serving import served_release

    extra: dict[str, Any] = {"pulled_releases": pulled_releases(flow, rollout)}
    if role != "production" or not rollout.candidate_id:
        return extra
    shadow = Shadow.objects.filter(flow=flow, share__gt=0).only("share").first()
    if shadow is None:
        return extra
    release = served_release(flow, rollout, "candidate", rollout.candidate)
    config = {**copy.deepcopy(release.call), "store": False}  # nothing of a shadow call is kept or shown
    extra["shadow"] = {"release": release.hash, "sample": float(shadow.share) / 100, "config": config,
                       "mode": release.mode}
    return extra
