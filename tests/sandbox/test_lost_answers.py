"""The 'lost answer' fault: the write is committed, the client sees 502 (so exactly-once can be proven)."""

from __future__ import annotations

import contextlib

import openai
import pytest


def _items(client, conv_id: str) -> list:
    return client.conversations.items.list(conv_id, order="asc", limit=100).data


def test_lost_header_commits_the_write_then_answers_502(sandbox_empty) -> None:
    client = sandbox_empty.client(max_retries=0)
    conv = client.conversations.create(items=[{"type": "message", "role": "user", "content": "one"}])
    lost = client.with_options(default_headers={"x-sandbox-fault": "lost"})
    with pytest.raises(openai.InternalServerError) as caught:
        lost.conversations.items.create(conv.id, items=[{"type": "message", "role": "user", "content": "two"}])
    assert caught.value.status_code == 502 and "lost" in caught.value.message
    assert [i.content[0].text for i in _items(client, conv.id)] == ["one", "two"]  # it did happen


def test_lost_rate_and_throttle_rate_are_seeded_and_only_lose_writes(make_sandbox) -> None:
    def outcomes(seed: int) -> tuple[list[str], int]:
        box = make_sandbox(lost_rate=0.3, throttle_rate=0.2, seed_random=seed)
        client = box.client(max_retries=0)
        conv = None
        seen = []
        while conv is None:
            try:
                conv = client.conversations.create()
            except (openai.InternalServerError, openai.RateLimitError) as exc:
                seen.append(str(exc.status_code))
        for n in range(30):
            try:
                client.conversations.items.create(conv.id, items=[{"type": "message", "role": "user",
                                                                   "content": str(n)}])
                seen.append("ok")
            except openai.RateLimitError as exc:
                assert exc.response.headers["retry-after-ms"] == "1000"
                seen.append("429")
            except openai.InternalServerError as exc:
                assert exc.status_code == 502
                seen.append("502")
        for _ in range(10):  # reads are never "lost"
            with contextlib.suppress(openai.RateLimitError):
                client.conversations.retrieve(conv.id)
        committed = len(client.with_options(max_retries=5).conversations.items.list(conv.id, limit=100).data)
        return seen, committed

    first, committed = outcomes(3)
    assert (first, committed) == outcomes(3)
    tail = first[-30:]
    assert {"ok", "429", "502"} <= set(tail)
    assert committed == tail.count("ok") + tail.count("502")  # a 502 here means committed, a 429 means not
