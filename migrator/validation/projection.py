"""What a validation run will cost before it starts: requests and tokens from the plan (each case's recorded
input and expected answer, the configuration's instructions, repeats, the free runs), priced from the dated
pricing table. Rough on purpose (four characters a token), and said so wherever it is shown."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from migrator.validation import pricing
from migrator.validation.models import TestCase

CHARS_PER_TOKEN = 4
MIN_OUTPUT_TOKENS = 16
# The free runs replay up to this many whole threads turn by turn after the cases (services.runs).
FREE_RUN_SHARE = 0.5


def _tokens(value: Any) -> int:
    text = value if isinstance(value, str) else json.dumps(value or "", ensure_ascii=False)
    return max(1, len(text) // CHARS_PER_TOKEN)


def project(*, cases: Iterable[TestCase], config: dict[str, Any], repeats: int = 1, batch: bool = False
            ) -> dict[str, Any]:
    """{requests, input_tokens, output_tokens, cost_usd (None: price unknown), price, model, priced_on, source,
    path, note}. On the batch path the cases are billed at the Batch discount; the free runs (whole threads,
    state carried turn by turn) are sent directly either way."""
    model = str(config.get("model") or "")
    fixed = _tokens(config.get("instructions") or "") + _tokens(config.get("tools") or [])
    requests = input_tokens = output_tokens = 0
    for case in cases:
        requests += 1
        input_tokens += fixed + _tokens(case.history or []) + _tokens(case.input_text or "")
        output_tokens += max(MIN_OUTPUT_TOKENS, _tokens(case.expected_text or case.expected_json or ""))
    # the free runs send about half the cases again, once
    extra = (int(requests * FREE_RUN_SHARE), int(input_tokens * FREE_RUN_SHARE), int(output_tokens * FREE_RUN_SHARE))
    requests, input_tokens, output_tokens = requests * repeats, input_tokens * repeats, output_tokens * repeats
    cost = pricing.estimate_cost(model, input_tokens, output_tokens)
    free_cost = pricing.estimate_cost(model, extra[1], extra[2])
    if cost is not None and free_cost is not None:
        cost = round(cost * (pricing.BATCH_DISCOUNT if batch else 1.0) + free_cost, 8)
    note = "estimate: 4 characters a token, expected answers as output"
    if batch:
        note += f"; cases at the Batch API's {int(pricing.BATCH_DISCOUNT * 100)}% price, free runs direct"
    if cost is None:
        note += "; " + pricing.unknown_note(model)
    return {"requests": requests + extra[0], "input_tokens": input_tokens + extra[1],
            "output_tokens": output_tokens + extra[2], "cost_usd": cost, "price": pricing.describe(model),
            "model": model, "priced_on": pricing.PRICED_ON, "source": pricing.PRICE_SOURCE,
            "path": "batch" if batch else "direct", "note": note}
