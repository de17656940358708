"""Fixtures: transcripts recorded through the sandbox's Assistants API, imported and converted."""

from __future__ import annotations

import pytest

from migrator.core.services import status as status_service
from tests.validation.recording import (
    INVOICE_FORMAT,
    WEATHER_THREADS,
    WEATHER_TOOLS,
    Recorded,
    make_flow,
    record_and_import,
)

__all__ = ["make_flow"]


@pytest.fixture(autouse=True)
def _status_contract(monkeypatch):
    """Until the lead's ``apply_outcome`` lands on main, record outcomes instead of moving statuses.

    Only the tests are guarded; product code calls ``apply_outcome`` unconditionally."""
    calls: list[dict] = []
    if not hasattr(status_service, "apply_outcome"):
        monkeypatch.setattr(status_service, "apply_outcome", lambda **kw: calls.append(kw), raising=False)
    return calls


@pytest.fixture
def weather(sandbox_empty) -> Recorded:
    return record_and_import(sandbox_empty, name="Weather desk", instructions="You help with the weather.",
                             tools=WEATHER_TOOLS, threads=WEATHER_THREADS)


@pytest.fixture
def invoices(sandbox_empty) -> Recorded:
    return record_and_import(sandbox_empty, name="Invoice extractor", instructions="Extract invoices as JSON.",
                             response_format=INVOICE_FORMAT,
                             threads=[["Invoice 7 for ACME, total 120."], ["Invoice 9 for Initech, total 80."]])
