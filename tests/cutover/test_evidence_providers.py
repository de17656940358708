"""Each step's evidence provider answers for the exact configuration and mode, and missing means incomplete."""

from __future__ import annotations

import pytest

from migrator.cutover.services import evidence_for
from tests.factories import AssistantFactory, FlowFactory
from tests.flows.factories import make_threads, make_version

pytestmark = pytest.mark.django_db


def _items(flow, version) -> dict:
    return {i.key: i for i in evidence_for(flow, version)}


def test_backfill_is_required_only_when_the_mode_keeps_state_on_the_server():
    assistant = AssistantFactory()
    version = make_version(assistant, {"model": "gpt-4.1", "tools": []}, approved=True)
    make_threads(assistant, [(3, 500, 2)] * 4, flow_slug="chat")
    chat = FlowFactory(assistant=assistant, slug="chat", mode="conversation")
    item = _items(chat, version)["backfill"]
    assert item.state == "missing" and "4 imported threads" in item.summary
    chat.mode = "stateless"
    assert _items(chat, version)["backfill"].state == "not_required"
    empty = FlowFactory(assistant=assistant, slug="no-threads", mode="conversation")
    assert _items(empty, version)["backfill"].state == "not_required"


def test_validation_evidence_is_missing_until_a_run_of_this_exact_configuration():
    assistant = AssistantFactory()
    version = make_version(assistant, {"model": "gpt-4.1", "tools": []}, approved=True)
    flow = FlowFactory(assistant=assistant, mode="stateless")
    item = _items(flow, version)["validation"]
    assert item.state in ("missing", "failed") and item.config_hash and item.mode == "stateless"
