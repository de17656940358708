"""Query-count regression tests: every page at 10 and at 1,000 assistants issues exactly the recorded queries.

The expected counts live in ``query_counts.json`` next to this file (one number per page, the same at both sizes:
a count that grows with the rows is an N+1 and fails here). After a deliberate change, rewrite the file with
``UPDATE_QUERY_COUNTS=1 pytest tests/core/test_query_counts.py`` and review the diff like any other.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from tests.scale_data import grow_to, page_urls, sample_ids, staff_user

EXPECTED = Path(__file__).with_name("query_counts.json")
# The 1,000-row size proves the counts stay constant as data grows; it seeds for a while, so it is in the slow
# lane (`make test`), and the fast lane still checks every page's count against the record at 10 rows.
SIZES = (10, pytest.param(1000, marks=pytest.mark.slow))

pytestmark = pytest.mark.django_db


def count_queries(client: Client, url: str) -> tuple[int, int, list[str]]:
    client.get(url)  # warm the per-process caches (content types, model catalog) as any second visit would
    seen: list[str] = []

    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        response = client.get(url)
    return response.status_code, len(seen), seen


def measure_all(n: int) -> dict[str, int]:
    grow_to(n)
    client = Client()
    client.force_login(staff_user())
    counts: dict[str, int] = {}
    for label, url, _admin in page_urls(sample_ids()):
        status, n_queries, _sql = count_queries(client, url)
        assert status == 200, f"{label} ({url}) answered {status}"
        counts[label] = n_queries
    return counts


@pytest.mark.parametrize("size", SIZES)
def test_query_counts_match_the_recorded_ones(size):
    counts = measure_all(size)
    expected = json.loads(EXPECTED.read_text()) if EXPECTED.exists() else {}
    if os.environ.get("UPDATE_QUERY_COUNTS"):
        expected.update(counts)
        EXPECTED.write_text(json.dumps(dict(sorted(expected.items())), indent=2) + "\n")
        pytest.skip(f"rewrote {EXPECTED.name}")
    missing = sorted(set(counts) - set(expected))
    assert not missing, f"no recorded count for {missing}: run with UPDATE_QUERY_COUNTS=1 and review the diff"
    changed = {label: f"{expected[label]} → {n}" for label, n in counts.items() if expected[label] != n}
    assert not changed, f"query counts changed at {size} assistants: {changed}"


def test_the_fixture_loads_what_the_pages_need():
    """The 1,000-row estate really has threads, flows and versions, so the counts above mean something."""
    from migrator.core.models import Assistant, Flow
    from migrator.inventory.models import LegacyThread
    from migrator.prompts.models import PromptVersion

    grow_to(1000)
    assert Assistant.objects.count() == 1000 and Flow.objects.count() == 200
    assert LegacyThread.objects.count() == 2000 and PromptVersion.objects.count() == 250
    ids = sample_ids()
    assert ids["assistant"] and ids["flow"]
