"""Outcome rows as migrator-client sends them, and a flow ramping a candidate through the real services."""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

from migrator.cutover import services as cutover
from tests.cutover.helpers import evidence_passing
from tests.cutover.test_services import CONFIG, OTHERS, _ramp_setup
from tests.factories import AssistantFactory, FlowFactory
from tests.flows.factories import make_version


def outcome(release: str, role: str = "production", *, error: bool = False, latency: float = 400.0,
            schema_valid: bool | None = None, tools: list[str] | None = None, ttft: float | None = None) -> dict:
    return {"id": uuid.uuid4().hex, "at": time.time(), "release": release, "role": role, "model": "gpt-5.4-mini",
            "latency_ms": latency, "ttft_ms": ttft, "error": "APIStatusError:500" if error else None,
            "output_types": [] if error else ["message"], "tool_calls": tools or [], "schema_valid": schema_valid,
            "refusal": False, "input_tokens": 0 if error else 120, "output_tokens": 0 if error else 40}


def sample(release: str, role: str, n: int, *, error_rate: float, rng: random.Random, latency: float = 400.0,
           **kw: Any) -> list[dict]:
    return [outcome(release, role, error=rng.random() < error_rate, latency=latency * rng.uniform(0.7, 1.3), **kw)
            for _ in range(n)]


def ramping_flow(engineer, support_lead, *, percent: int = 10, slug: str = "orders"):
    """A flow serving v1 with v2 approved and ramped to ``percent`` through the cutover services."""
    assistant = AssistantFactory(legacy_id=f"asst_{slug}")
    make_version(assistant, CONFIG, approved=True)
    flow = FlowFactory(assistant=assistant, slug=slug, name=slug.title(), mode="stateless", status="validated")
    v1, v2 = _ramp_setup(flow, engineer, support_lead)
    with evidence_passing(*OTHERS):
        cutover.ramp(flow_id=flow.pk, actor=support_lead, percent=percent, reason="first step")
    return flow, v1, v2
