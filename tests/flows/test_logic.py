"""Pure logic of the flows step: the mode recommendation and ETags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from migrator.core.status import FlowMode
from migrator.cutover.serving import compute_etag, etag_matches
from migrator.flows.recommend import ThreadStat, percentile, recommend

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def stat(turns: int, tokens: int = 500, days: float = 0.1) -> ThreadStat:
    return ThreadStat(turns, tokens, T0, T0 + timedelta(days=days))


# --- recommendation ---------------------------------------------------------------------------------------


def test_no_threads_means_no_recommendation():
    rec = recommend([], source="assistant")
    assert rec.mode == "" and "No imported threads" in rec.reason
    assert rec.evidence == {"thread_count": 0, "source": "assistant"}


def test_mostly_single_turn_threads_recommend_stateless_without_storage():
    rec = recommend([stat(1)] * 45 + [stat(3)] * 5, source="flow")
    assert rec.mode == FlowMode.STATELESS and rec.store is False
    assert rec.evidence["single_turn_share"] == 0.9
    assert "90% of 50 threads are a single question" in rec.reason


def test_threads_outliving_response_retention_recommend_a_conversation():
    rec = recommend([stat(1)] * 10 + [stat(6, days=2)] * 30 + [stat(8, days=45)] * 10, source="flow")
    assert rec.mode == FlowMode.CONVERSATION
    assert rec.evidence["long_lived_share"] == 0.25
    assert "more than 30 days" in rec.reason and rec.store is True


def test_threads_resumed_days_later_recommend_a_conversation():
    rec = recommend([stat(4, days=0.2)] * 30 + [stat(4, days=3)] * 10, source="flow")
    assert rec.mode == FlowMode.CONVERSATION
    assert "picked up again more than a day later" in rec.reason


def test_short_multi_turn_threads_recommend_previous_response_chaining():
    rec = recommend([stat(1)] * 10 + [stat(5, days=0.05)] * 30, source="assistant")
    assert rec.mode == FlowMode.PREVIOUS_RESPONSE and rec.store is True
    assert rec.evidence["turns"]["median"] == 5
    assert rec.truncation == "disabled"


def test_large_threads_suggest_truncation_and_few_threads_say_so():
    rec = recommend([stat(6, tokens=90_000, days=0.1)] * 5, source="flow")
    assert rec.truncation == "auto" and "truncation is set to auto" in rec.reason
    assert rec.evidence["confidence"] == "low" and "Only 5 threads" in rec.reason


def test_percentile_is_nearest_rank():
    assert percentile([], 50) == 0
    assert percentile([1, 2, 3, 4], 50) == 2
    assert percentile(list(range(1, 11)), 90) == 9


# --- ETags ---------------------------------------------------------------------------------------------------


def test_etag_comparison():
    body = {"release": "ab" * 32, "rollout": {"percent": 10.0}, "flow": {"name": "Help"}}
    etag = compute_etag(body)
    assert etag.startswith('"' + "ab" * 16) and etag == compute_etag(dict(body))
    # The release and the rollout change it; a label (the flow's name) does not.
    assert etag != compute_etag({**body, "release": "cd" * 32})
    assert etag != compute_etag({**body, "rollout": {"percent": 50.0}})
    assert etag == compute_etag({**body, "flow": {"name": "Renamed"}})
    assert etag_matches(etag, etag) and etag_matches(f'W/{etag}', etag) and etag_matches(f'"x", {etag}', etag)
    assert etag_matches("*", etag)
    assert not etag_matches(None, etag) and not etag_matches('"other"', etag) and not etag_matches(etag[1:-1], etag)
