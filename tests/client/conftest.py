"""A served flow on a live migrator (real HTTP) and the sandbox as the OpenAI API, for the production client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from migrator.cutover.models import FlowRollout
from migrator.flows.services import served_cache
from migrator.flows.services import tokens as token_services
from migrator_client import Migrator
from tests.factories import AssistantFactory, FlowFactory
from tests.flows.factories import make_version

BASE_CONFIG: dict[str, Any] = {"model": "gpt-5.4-mini", "instructions": "You help with orders.", "tools": [],
                               "text": {"format": {"type": "text"}}}


@pytest.fixture
def served_flow(transactional_db, engineer) -> Callable[..., dict[str, Any]]:
    """``served_flow(mode=..., config=...)``: a flow serving v1 to everyone, and a token for it."""

    def make(*, slug: str = "support-web", mode: str = "stateless", config: dict | None = None,
             store: bool = True) -> dict[str, Any]:
        assistant = AssistantFactory(legacy_id=f"asst_{slug}")
        v1 = make_version(assistant, {**BASE_CONFIG, **(config or {})}, approved=True)
        flow = FlowFactory(assistant=assistant, slug=slug, name=slug, mode=mode, store=store)
        FlowRollout.objects.update_or_create(flow=flow, defaults={"production": v1, "candidate": None,
                                                                  "production_release": release_of(flow, v1),
                                                                  "percent": 0, "request": None})
        _token, plaintext = token_services.create_token(actor=engineer, name=f"{slug} web", consumer="web team")
        served_cache.forget_all()
        return {"flow": flow, "assistant": assistant, "v1": v1, "token": plaintext}

    return make


def release_of(flow, version):
    """The flow's release row of ``version`` (set-up; the cutover services record them in product code)."""
    from migrator.core.actors import system
    from migrator.cutover.services.releases import ensure_release, spec_for

    return ensure_release(flow=flow, version=version, spec=spec_for(flow, version), actor=system("tests"),
                          origin="test set-up")


def ramp_to(flow, candidate, percent: float) -> None:
    """Set-up only (product code ramps through the cutover services)."""
    FlowRollout.objects.filter(flow=flow).update(candidate=candidate, percent=Decimal(str(percent)),
                                                 candidate_release=release_of(flow, candidate))


@pytest.fixture
def client_for(live_server, sandbox_empty, tmp_path) -> Iterator[Callable[..., Migrator]]:
    made: list[Migrator] = []

    def make(token: str, **options: Any) -> Migrator:
        options.setdefault("cache_dir", tmp_path / "migrator-cache")
        options.setdefault("base_url", live_server.url)
        m = Migrator(token=token, openai_client=sandbox_empty.client(), **options)
        made.append(m)
        return m

    yield make
    for m in made:
        m.close(timeout=5)
