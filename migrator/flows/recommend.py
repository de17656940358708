"""Which state mode a flow should use, recommended from the threads it served (pure logic, no database).

The three modes and what decides between them:

- **stateless**: the app sends the whole input every call. Right when nearly every thread is one question
  and one answer: nothing to keep, and ``store`` can be off.
- **previous_response**: chain calls with ``previous_response_id``. Light, but it relies on stored responses,
  which OpenAI keeps for 30 days, so it fits multi-turn conversations that end quickly.
- **conversation**: a durable Conversation object. Its items have no 30-day limit and can be listed, so it
  fits conversations people come back to days or weeks later.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from migrator.core.status import FlowMode

SINGLE_TURN_STATELESS = 0.8  # share of one-question threads from which stateless is the natural fit
RESPONSE_RETENTION_DAYS = 30  # stored responses (what previous_response_id needs) are kept 30 days
LONG_LIVED_SHARE = 0.05  # this share of multi-turn threads outliving retention forces a durable conversation
RETURNING_DAYS = 1.0
RETURNING_SHARE = 0.2  # this share of multi-turn threads resumed after a day suggests a durable conversation
LARGE_CONTEXT_TOKENS = 50_000  # p90 above this: suggest truncation "auto" rather than a 400 on overflow
FEW_THREADS = 20  # below this the evidence is thin and the recommendation says so


@dataclass(frozen=True)
class ThreadStat:
    user_turns: int
    approx_tokens: int
    created_at: datetime | None
    last_message_at: datetime | None

    @property
    def span_days(self) -> float | None:
        if not self.created_at or not self.last_message_at:
            return None
        return max((self.last_message_at - self.created_at).total_seconds(), 0) / 86400


@dataclass
class Recommendation:
    mode: str  # a FlowMode value, or "" when there is no evidence
    reason: str
    truncation: str = "disabled"
    store: bool = True
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "reason": self.reason,
            "truncation": self.truncation,
            "store": self.store,
            **self.evidence,
        }


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _summary(values: Sequence[float], digits: int = 1) -> dict[str, float]:
    return {
        "median": round(percentile(values, 50), digits),
        "p90": round(percentile(values, 90), digits),
        "max": round(max(values), digits) if values else 0,
    }


def _pct(share: float) -> str:
    return f"{round(share * 100)}%"


def recommend(stats: Iterable[ThreadStat], *, source: str) -> Recommendation:
    """``source`` says where the threads came from: "flow" (tagged with the flow) or "assistant" (all)."""
    threads = list(stats)
    n = len(threads)
    if n == 0:
        return Recommendation(
            mode="",
            reason="No imported threads for this flow or its assistant, so there is nothing to recommend "
            "from. Import threads, or choose a mode from what you know of the product.",
            evidence={"thread_count": 0, "source": source},
        )
    turns = [max(t.user_turns, 0) for t in threads]
    tokens = [max(t.approx_tokens, 0) for t in threads]
    spans = [s for s in (t.span_days for t in threads) if s is not None]
    multi = [t for t in threads if t.user_turns > 1]
    multi_spans = [s for s in (t.span_days for t in multi) if s is not None]
    single_share = sum(1 for x in turns if x <= 1) / n
    long_lived = sum(1 for s in multi_spans if s > RESPONSE_RETENTION_DAYS) / len(multi_spans) if multi_spans else 0
    returning = sum(1 for s in multi_spans if s > RETURNING_DAYS) / len(multi_spans) if multi_spans else 0
    tokens_p90 = percentile(tokens, 90)
    evidence: dict[str, Any] = {
        "thread_count": n,
        "source": source,
        "single_turn_share": round(single_share, 3),
        "multi_turn_threads": len(multi),
        "turns": _summary(turns),
        "tokens": _summary(tokens, 0),
        "age_days": _summary(spans),
        "returning_share": round(returning, 3),
        "long_lived_share": round(long_lived, 3),
        "confidence": "low" if n < FEW_THREADS else "normal",
    }
    truncation = "auto" if tokens_p90 > LARGE_CONTEXT_TOKENS else "disabled"

    if single_share >= SINGLE_TURN_STATELESS:
        mode, store = FlowMode.STATELESS, False
        reason = (
            f"{_pct(single_share)} of {n} threads are a single question, so there is no state worth keeping: "
            "send the full input on each call and turn storage off."
        )
    elif long_lived >= LONG_LIVED_SHARE:
        mode, store = FlowMode.CONVERSATION, True
        reason = (
            f"{_pct(long_lived)} of the multi-turn threads stay active for more than {RESPONSE_RETENTION_DAYS} "
            f"days (the longest lasted {evidence['age_days']['max']:g} days). Stored responses expire after "
            f"{RESPONSE_RETENTION_DAYS} days, so previous_response_id chains would break; a durable Conversation "
            "does not expire."
        )
    elif returning >= RETURNING_SHARE:
        mode, store = FlowMode.CONVERSATION, True
        reason = (
            f"{_pct(returning)} of the multi-turn threads are picked up again more than a day later. A durable "
            "Conversation keeps that history readable (its items can be listed) without the app storing it."
        )
    else:
        mode, store = FlowMode.PREVIOUS_RESPONSE, True
        reason = (
            f"{_pct(1 - single_share)} of threads have several turns (median {evidence['turns']['median']:g} "
            f"user turns), but they finish within a day. Chaining with previous_response_id keeps that state "
            "with the least work; it needs store=true."
        )
    if truncation == "auto":
        reason += (
            f" The largest threads reach about {int(tokens_p90):,} tokens (p90), so truncation is set to auto to "
            "drop the oldest items instead of failing with a 400 when the context window is full."
        )
    if n < FEW_THREADS:
        reason += f" Only {n} threads were imported, so treat this as a starting point."
    return Recommendation(mode=str(mode), reason=reason, truncation=truncation, store=store, evidence=evidence)
