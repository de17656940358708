"""The sandbox's deterministic ``/v1/embeddings`` through the real SDK (float and base64), checked against the spec."""

from __future__ import annotations

import math

import openai
import pytest

from tests.sandbox.specval import Recorder, SpecValidator


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (math.hypot(*a) * math.hypot(*b))


def test_vectors_are_deterministic_and_follow_shared_words(sandbox_empty):
    client = sandbox_empty.client()
    texts = ["The refund was issued today.", "The refund was issued today.", "Refund issued today.",
             "Paris weather is sunny."]
    first = client.embeddings.create(model="text-embedding-3-small", input=texts)  # the SDK asks for base64
    again = client.embeddings.create(model="text-embedding-3-small", input=texts, encoding_format="float")
    vectors = [d.embedding for d in first.data]
    assert [len(v) for v in vectors] == [1536] * 4
    assert [round(x, 5) for x in vectors[0]] == [round(x, 5) for x in again.data[0].embedding]
    assert _cos(vectors[0], vectors[1]) == pytest.approx(1.0)
    assert _cos(vectors[0], vectors[2]) > 0.6 > _cos(vectors[0], vectors[3])
    assert first.usage.prompt_tokens == first.usage.total_tokens > 0
    small = client.embeddings.create(model="text-embedding-3-large", input="hi", dimensions=64)
    assert len(small.data[0].embedding) == 64


@pytest.mark.parametrize("kwargs, status", [
    ({"model": "gpt-4o", "input": "x"}, 400),
    ({"model": "text-embedding-3-small", "input": []}, 400),
    ({"model": "text-embedding-3-small", "input": "x", "dimensions": 5000}, 400),
    ({"model": "text-embedding-ada-002", "input": "x", "dimensions": 64}, 400),
])
def test_bad_requests(sandbox_empty, kwargs, status):
    with pytest.raises(openai.APIStatusError) as err:
        sandbox_empty.client().embeddings.create(**kwargs)
    assert err.value.status_code == status


@pytest.mark.contract
def test_exchanges_match_the_spec(sandbox_empty, openai_spec):
    validator = SpecValidator(openai_spec)
    recorder = Recorder()
    client = sandbox_empty.client(http_client=recorder.http_client())
    client.embeddings.create(model="text-embedding-3-small", input=["a b", "c"], encoding_format="float")
    client.embeddings.create(model="text-embedding-3-large", input="a b", dimensions=8, encoding_format="float")
    # Not the SDK's default base64: the spec types ``embedding`` as numbers only, while the API (and the
    # sandbox) send a base64 string when asked for one, a known spec flaw like file content.
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="nope", input="x")
    found = [p for ex in recorder.exchanges for p in validator.exchange(ex)]
    assert found == []
