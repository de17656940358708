"""The shared rate budget: reservations spaced at the limit, penalties and learned limits shared by every caller.

Both stores are exercised: Redis (when it answers; the suite's REDIS_URL) and the file store used with the
filesystem broker. Waits are computed reservations, returned without sleeping, so nothing here is timed.
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from migrator.celery import redis_answers
from migrator.core.ratebudget import (
    RateBudget,
    _FileBackend,
    _RedisBackend,
    parse_duration,
    retry_after_seconds,
)


def _no_sleep(_: float) -> None:
    return None


@pytest.fixture(params=["redis", "file"])
def backend(request, tmp_path):
    if request.param == "redis":
        if not redis_answers(settings.REDIS_URL):
            pytest.skip(f"Redis does not answer at {settings.REDIS_URL}")
        return _RedisBackend(settings.REDIS_URL)
    return _FileBackend(tmp_path / "ratebudget")


def _budget(backend, **kwargs) -> RateBudget:
    return RateBudget(f"test:{uuid.uuid4().hex}", backend=backend, sleep=_no_sleep, share=1.0, **kwargs)


def test_requests_are_spaced_evenly_at_the_limit(backend):
    budget = _budget(backend, rpm=60)  # one a second, no burst beyond one
    waits = [budget.acquire() for _ in range(4)]
    assert waits[0] == pytest.approx(0, abs=0.05)
    for earlier, later in itertools.pairwise(waits):
        assert later - earlier == pytest.approx(1.0, abs=0.1)


def test_tokens_per_minute_paces_large_calls(backend):
    budget = _budget(backend, tpm=600)  # 10 tokens a second
    budget.acquire(tokens=100)  # the first goes now
    second = budget.acquire(tokens=100)
    assert second == pytest.approx(9.0, abs=0.3)  # 100 tokens = 10 s, less one second of tolerance


def test_a_penalty_holds_every_caller_back(backend):
    budget = _budget(backend, rpm=6000)
    budget.acquire()
    other = RateBudget(budget.key, backend=backend, sleep=_no_sleep, rpm=6000, share=1.0)  # another worker
    budget.penalize(5)
    assert other.acquire() == pytest.approx(5.0, abs=0.3)


def test_observe_learns_limits_and_honours_exhaustion(backend):
    budget = _budget(backend)
    assert budget.limits().rpm is None and budget.acquire() == 0  # unknown limit: unpaced
    budget.observe({"x-ratelimit-limit-requests": "120", "x-ratelimit-remaining-requests": "50",
                    "x-ratelimit-reset-requests": "2s"})
    assert budget.limits().rpm == 120 and budget.limits().source == "learned"
    budget.observe({"x-ratelimit-limit-requests": "120", "x-ratelimit-remaining-requests": "0",
                    "x-ratelimit-reset-requests": "3s"})
    assert budget.acquire() == pytest.approx(3.0, abs=0.3)


def test_retry_after_ms_wins_over_seconds(backend):
    budget = _budget(backend, rpm=6000)
    budget.observe({"Retry-After": "1", "Retry-After-Ms": "2500"})
    assert budget.acquire() == pytest.approx(2.5, abs=0.3)


def _reserve_many(path: str, key: str, n: int, out) -> None:
    budget = RateBudget(key, backend=_FileBackend(Path(path)), sleep=_no_sleep, rpm=60, share=1.0)
    slots = []
    for _ in range(n):
        before = time.time()
        wait = budget.acquire()
        slots.append((before + wait, time.time() + wait))  # the slot's start, bracketed on the shared clock
    out.put(slots)


def test_file_store_shares_the_budget_across_processes(tmp_path):
    """Two processes reserving on one file get distinct slots one interval apart (one a second at 60 rpm)."""
    key = f"test:{uuid.uuid4().hex}"
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_reserve_many, args=(str(tmp_path), key, 30, queue)) for _ in range(2)]
    for proc in procs:
        proc.start()
    slots = sorted(queue.get(timeout=120) + queue.get(timeout=120))
    for proc in procs:
        proc.join(timeout=30)
    assert len(slots) == 60
    # Every slot is one second after the previous one, whichever process took it: never two in one slot. Each
    # start is known within the time its acquire() took (the bracket), which a loaded machine stretches.
    for (lo1, hi1), (lo2, hi2) in itertools.pairwise(slots):
        assert abs((lo2 - lo1) - 1.0) <= (hi1 - lo1) + (hi2 - lo2) + 0.02, slots


def test_header_parsing():
    assert parse_duration("6m0s") == 360
    assert parse_duration("20ms") == pytest.approx(0.02)
    assert parse_duration("1.5s") == 1.5
    assert parse_duration("soon") is None
    assert retry_after_seconds({"retry-after": "2"}) == 2
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
