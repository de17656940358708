"""What a flow serves to production, read from its rollout and nothing else (the one production switch).

A subject (an end user, a chat, whatever the app keys on) is assigned to the candidate by a stable hash of the
flow and the subject, so each subject keeps its version as the ramp grows: at 10% the subjects in buckets
0–999 get the candidate, at 50% buckets 0–4999 (the same ones plus more). Without a subject the answer is the
production version, or the candidate once it serves 100%.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from migrator.core.confighash import canonical_json, config_hash
from migrator.core.models import Flow
from migrator.core.release import ReleaseSpec, make_release
from migrator.core.services import ServiceError
from migrator.core.signals import cutover_serving_extra

BUCKETS = 10_000


class NotServable(ServiceError):
    """The flow exists but there is nothing to serve; ``code`` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class ServedConfig:
    body: dict[str, Any]
    etag: str  # the quoted entity tag, e.g. '"3f2a…"'


def bucket(flow_slug: str, subject: str) -> int:
    """0..9999, stable for (flow, subject) across processes and releases."""
    digest = hashlib.sha256(f"{flow_slug}\x00{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def on_candidate(flow_slug: str, subject: str, percent: Decimal | float) -> bool:
    return bucket(flow_slug, subject) < int(Decimal(str(percent)) * BUCKETS / 100)


def compute_etag(body: dict[str, Any]) -> str:
    """The release hash (what the client calls with), then a digest of the rollout part (which release this
    subject gets and how far the ramp is). Labels around them (the flow's name and status, the assistant's
    name) do not change it: they are not part of what production calls with."""
    rollout = hashlib.sha256(canonical_json(body.get("rollout") or {}).encode()).hexdigest()[:8]
    return f'"{body["release"][:32]}.{rollout}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of an ``If-None-Match`` list against our (strong) tag."""
    if not if_none_match:
        return False
    wanted = etag.strip()
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*":
            return True
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == wanted:
            return True
    return False


def choose_version(flow: Flow, rollout, subject: str | None):
    """(version, role) for this subject: role is "production" or "candidate"."""
    percent = Decimal(rollout.percent or 0)
    if rollout.candidate_id and percent > 0:
        if percent >= 100 or rollout.production_id is None:
            return rollout.candidate, "candidate"
        if subject and on_candidate(flow.slug, subject, percent):
            return rollout.candidate, "candidate"
    if rollout.production_id:
        return rollout.production, "production"
    return None, ""


def served_release(flow: Flow, rollout, role: str, version) -> ReleaseSpec:
    """The release the rollout serves in ``role``. A rollout row from before releases existed (none recorded)
    serves its version with the flow's settings, as it did then; migration 0004 records one for every row."""
    row = rollout.candidate_release if role == "candidate" else rollout.production_release
    if row is not None:
        return row.spec()
    return make_release(config=version.config, mode=flow.mode, truncation=flow.truncation, store=flow.store)


def flow_config(flow: Flow, *, subject: str | None = None) -> ServedConfig:
    """The configuration ``flow`` serves to ``subject`` now, or raise :class:`NotServable`."""
    from migrator.cutover.models import FlowRollout

    if not flow.mode:
        raise NotServable("mode_not_chosen", f"Flow '{flow.slug}' has no state mode chosen yet, so production "
                                             "cannot know how to keep state. An engineer chooses it on the flow page.")
    rollout = (FlowRollout.objects.select_related("production", "candidate", "production_release",
                                                  "candidate_release").filter(flow=flow).first())
    version, role = choose_version(flow, rollout, subject) if rollout else (None, "")
    if version is None:
        raise NotServable("not_cut_over", f"Flow '{flow.slug}' has not been cut over yet: nothing is served until a "
                                          "support lead approves a cutover request for it.")
    # Everything a call depends on comes from the release, never from the flow's working settings: Save mode
    # on a live flow makes a candidate, and production keeps getting this until a cutover reaches it.
    release = served_release(flow, rollout, role, version)
    config = release.call
    percent = float(rollout.percent or 0) if rollout.candidate_id else 100.0
    body: dict[str, Any] = {
        "flow": {
            "slug": flow.slug,
            "name": flow.name,
            "status": flow.status,
            "mode": release.mode,
            "state_param": release.state_param,
            "truncation": release.truncation,
            "store": release.store,
            "streams": release.stream,
        },
        "release": release.hash,
        "assistant": {"id": flow.assistant_id, "legacy_id": flow.assistant.legacy_id, "name": flow.assistant.name},
        "version": {
            "id": version.pk,
            "number": version.number,
            "label": role,
            "config_hash": config_hash(version.config),
            "approved_at": version.approved_at.isoformat() if version.approved_at else None,
        },
        "rollout": {
            "stage": "rolling_out" if rollout.candidate_id and 0 < percent < 100 else "complete",
            "percent": percent,
            "served": role,
            "subject_assigned": bool(subject),
            "production_version": rollout.production.number if rollout.production_id else None,
            "candidate_version": rollout.candidate.number if rollout.candidate_id else None,
        },
        "config": config,
    }
    for _receiver, extra in cutover_serving_extra.send(sender=FlowRollout, flow=flow, rollout=rollout, role=role):
        body.update(extra or {})  # e.g. the shadow run of migrator.rollouts
    etag = compute_etag(body)
    body["etag"] = etag.strip('"')
    return ServedConfig(body=body, etag=etag)
