"""The scenario tour through Prism's validating proxy (``--errors``): any request or response that breaks
the OpenAI spec comes back as a 422/500 from Prism and fails the tour."""

from __future__ import annotations

import openai
import pytest

from tests.sandbox import scenarios

pytestmark = [pytest.mark.contract, pytest.mark.slow]


@pytest.fixture(scope="module")
def proxied(prism_proxy: str, prism_sandbox) -> openai.OpenAI:
    return openai.OpenAI(base_url=prism_proxy, api_key=prism_sandbox.api_key, max_retries=0, timeout=60)


def _tour(fn, *args):
    try:
        return fn(*args)
    except openai.APIStatusError as exc:  # show Prism's list of violations
        pytest.fail(f"{exc.request.method} {exc.request.url}: {exc.status_code} {exc.response.text[:3000]}")


def test_full_tour_through_prism(proxied: openai.OpenAI, prism_sandbox) -> None:
    result = _tour(scenarios.full_tour, proxied, prism_sandbox.client())
    assert result["run"].startswith("run_")


def test_demo_data_through_prism(proxied: openai.OpenAI) -> None:
    assert _tour(scenarios.demo_tour, proxied, range(0, 320, 9)) > 100


def test_prism_rejects_a_bad_request(proxied: openai.OpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError):
        proxied.responses.create(model="gpt-4o", input=123)  # type: ignore[arg-type]
