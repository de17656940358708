"""The config API's cheap path: one query for the flow, and a 304 without rebuilding the configuration.

:func:`load_flow` fetches the flow, its assistant, whether the calling token may read it, and a *fingerprint*
of everything ``cutover.serving.flow_config()`` depends on (the flow row, the assistant's name and ids, the
flow's rollout: production and candidate versions, percent, when it last changed, and when those versions were
approved) in one SQL statement. Prompt versions are immutable, so their ids stand for their configuration. Each web process remembers,
per fingerprint and subject, the ETag and version number it last served; while the fingerprint is unchanged
the client's ``If-None-Match`` is answered 304 without any further query. Any change to those inputs changes
the fingerprint, so a label move is still seen on the very next request in every process.

Whoever makes ``flow_config()`` depend on more state (a rollout table, say) adds it to :data:`ANNOTATIONS`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

from django.db.models import Exists, OuterRef, Subquery

from migrator.core.models import Flow

MAX_ENTRIES = 4096
_memo: OrderedDict[tuple, tuple[str, int | None]] = OrderedDict()
_lock = threading.Lock()


def _rollout(column: str) -> Subquery:
    from migrator.cutover.models import FlowRollout

    return Subquery(FlowRollout.objects.filter(flow_id=OuterRef("pk")).values(column)[:1])


def _annotations() -> dict[str, Any]:
    return {
        "_fp_production": _rollout("production_id"),
        "_fp_candidate": _rollout("candidate_id"),
        "_fp_production_release": _rollout("production_release_id"),
        "_fp_candidate_release": _rollout("candidate_release_id"),
        "_fp_percent": _rollout("percent"),
        "_fp_rollout_changed": _rollout("updated_at"),
        "_fp_production_approved": _rollout("production__approved_at"),
        "_fp_candidate_approved": _rollout("candidate__approved_at"),
    }


ANNOTATIONS = _annotations()


def load_flow(slug: str, token_id: int) -> Flow | None:
    """The flow with ``_token_allowed`` (bool) and the fingerprint annotations, in one query; None if unknown."""
    from migrator.flows.models import ApiToken

    through = ApiToken.flows.through
    scoped = Exists(through.objects.filter(apitoken_id=token_id))
    allowed = Exists(through.objects.filter(apitoken_id=token_id, flow_id=OuterRef("pk")))
    return (
        Flow.objects.select_related("assistant")
        .annotate(_token_scoped=scoped, _token_allowed_here=allowed, **ANNOTATIONS)
        .filter(slug=slug)
        .order_by()
        .first()
    )


def token_may_read(flow: Flow) -> bool:
    return not flow._token_scoped or flow._token_allowed_here


def fingerprint(flow: Flow, subject: str = "") -> tuple:
    assistant = flow.assistant
    own = [getattr(flow, f.attname) for f in Flow._meta.concrete_fields]
    state = [own, assistant.pk, assistant.legacy_id, assistant.name, assistant.updated_at,
             [getattr(flow, name) for name in ANNOTATIONS], subject]
    # JSON columns (dicts) are not hashable: the canonical JSON of the whole state is the key.
    return (flow.pk, hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest())


def remembered(key: tuple) -> tuple[str, int | None] | None:
    with _lock:
        found = _memo.get(key)
        if found is not None:
            _memo.move_to_end(key)
        return found


def remember(key: tuple, etag: str, version: int | None) -> None:
    with _lock:
        _memo[key] = (etag, version)
        _memo.move_to_end(key)
        while len(_memo) > MAX_ENTRIES:
            _memo.popitem(last=False)


def forget_all() -> None:
    with _lock:
        _memo.clear()


def served_version_number(body: dict) -> int | None:
    version = body.get("version") or {}
    number = version.get("number")
    return number if isinstance(number, int) else None
