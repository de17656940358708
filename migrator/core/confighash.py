"""The identity of a Responses configuration: evidence (tool tests, validation runs, cutover approvals) is
bound to this hash and the flow's state mode, so any change to either makes that evidence stale."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def config_hash(config: dict[str, Any] | None) -> str:
    """sha256 (hex) of the configuration's canonical JSON; key order and whitespace do not matter."""
    return hashlib.sha256(canonical_json(config or {}).encode()).hexdigest()


def short(hash_: str) -> str:
    return hash_[:12]
