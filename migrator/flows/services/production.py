"""What a flow serves to production, and the production-label switch (cutover) and rollback.

The label belongs to the prompts app (``prompts.services.move_label``); this module only offers it from the
flow page and reads the label history to know what "roll back" means.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from migrator.core.models import AuditEvent, Flow
from migrator.core.services import ServiceError
from migrator.flows import toolset

# Per-request state is the client's business: never serve it as part of the static configuration.
_PER_REQUEST_KEYS = ("input", "conversation", "previous_response_id", "stream", "background", "prompt")
STATE_PARAM = {"stateless": None, "conversation": "conversation", "previous_response": "previous_response_id"}


class NotServable(ServiceError):
    """The flow exists but there is nothing (valid) to serve yet; ``code`` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class ServedConfig:
    body: dict[str, Any]
    etag: str  # the quoted entity tag, e.g. '"3f2a…"'


def _label_of(version) -> str:
    try:
        from migrator.prompts.models import LabelName, PromptLabel
    except ImportError:
        return "approved"
    is_production = PromptLabel.objects.filter(
        assistant_id=version.assistant_id, name=LabelName.PRODUCTION, version=version
    ).exists()
    return "production" if is_production else "approved"


def compute_etag(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:40] + '"'


def flow_config(flow: Flow) -> ServedConfig:
    """The configuration ``flow`` should use now, or raise :class:`NotServable`."""
    if not flow.mode:
        raise NotServable("mode_not_chosen", f"Flow '{flow.slug}' has no state mode chosen yet, so production "
                                             "cannot know how to keep state. An engineer chooses it on the flow page.")
    version = toolset.serving_version(flow.assistant)
    if version is None:
        raise NotServable("no_serving_version", f"Flow '{flow.slug}': {flow.assistant.display_name} has no approved "
                                                "or production prompt version yet.")
    config = copy.deepcopy(version.config or {})
    for key in _PER_REQUEST_KEYS:
        config.pop(key, None)
    # The flow decides truncation and storage; they sit in the call settings so clients can pass them as-is.
    config["truncation"] = flow.truncation
    config["store"] = flow.store
    label = _label_of(version)
    body: dict[str, Any] = {
        "flow": {
            "slug": flow.slug,
            "name": flow.name,
            "status": flow.status,
            "mode": flow.mode,
            "state_param": STATE_PARAM.get(flow.mode),
            "truncation": flow.truncation,
            "store": flow.store,
        },
        "assistant": {"id": flow.assistant_id, "legacy_id": flow.assistant.legacy_id, "name": flow.assistant.name},
        "version": {
            "id": version.pk,
            "number": version.number,
            "label": label,
            "approved_at": version.approved_at.isoformat() if version.approved_at else None,
        },
        "config": config,
    }
    etag = compute_etag(body)
    body["etag"] = etag.strip('"')
    return ServedConfig(body=body, etag=etag)


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


# --- the production label ----------------------------------------------------------------------------------


@dataclass
class LabelState:
    production: Any  # PromptVersion | None
    approved: Any
    rollback_to: Any  # the version production pointed at before its last move (None if unknown)
    candidates: list  # approved versions that could take the production label


def label_state(assistant) -> LabelState | None:
    """The production/approved versions and the rollback target; None without the prompts app."""
    try:
        from migrator.prompts.models import PromptVersion
        from migrator.prompts.selectors import labels_for
    except ImportError:
        return None
    labels = labels_for(assistant)
    production = labels["production"].version if "production" in labels else None
    approved = labels["approved"].version if "approved" in labels else None
    rollback_to = None
    if production is not None:
        # The label history lives in the audit log (prompts records every move with before/after ids).
        events = AuditEvent.objects.filter(
            verb="migrator.prompt.label_moved", object_type="core.assistant", object_id=str(assistant.pk)
        ).order_by("-created_at", "-id")
        for event in events[:200]:
            after, before = event.after or {}, event.before or {}
            if after.get("label") == "production" and after.get("version_id") == production.pk:
                previous = before.get("version_id")
                if previous and previous != production.pk:
                    rollback_to = PromptVersion.objects.filter(pk=previous, assistant=assistant).first()
                break
    candidates = list(
        PromptVersion.objects.filter(assistant=assistant, approved_at__isnull=False).order_by("-number")[:20]
    )
    return LabelState(production=production, approved=approved, rollback_to=rollback_to, candidates=candidates)


def switch_production(*, flow_id: int, version_id: int, actor, reason: str = ""):
    """Point the assistant's production label at ``version_id`` (cutover, or rollback when moving back).

    The prompts service checks ``prompts.set_production_label``, that the version is approved, and audits.
    Every flow of the assistant serves the new version on its very next API request.
    """
    flow = Flow.objects.select_related("assistant").filter(pk=flow_id).first()
    if flow is None:
        raise ServiceError(f"Flow #{flow_id} does not exist.")
    try:
        from migrator.prompts.services import move_label
    except ImportError as exc:
        raise ServiceError("Prompt versions are not available in this installation.") from exc
    reason = (reason or "").strip()
    note = f"via flow {flow.slug}" + (f": {reason}" if reason else "")
    return move_label(assistant_id=flow.assistant_id, label="production", version_id=version_id, actor=actor,
                      reason=note)
