"""List prices (USD per million tokens, input / output) for an estimate of what a run costs, each with where it was
read, and the date the table was last checked (projections and run pages show it: a price is only as good as its
date and its source).

Estimates only: cached-input discounts and tool fees are not modelled; the Batch API's discount is
``BATCH_DISCOUNT``. A model with no known price is *unknown* here, never given the price of a neighbour: the
projection and the run page say "price unknown" and a budget cannot be enforced on it (the run refuses one).

Sources. The shared reference material (``shared/reference``) gives no prices. The older families' prices are
OpenAI's long-published list prices; the GPT-5.4 / 5.5 rows are OpenAI's pricing page as three independent
write-ups read it in April-June 2026 (they agree). The current successors the catalogue names most
(gpt-5.6-*, gpt-6-*, gpt-6.1-*) have no price any source we hold states: they stay unknown until someone reads
OpenAI's price list and adds them here with the source.
"""

from __future__ import annotations

from typing import NamedTuple

PRICED_ON = "2026-12-07"
PRICE_SOURCE = "migrator's list-price table"
UNKNOWN = "unknown"
# The Batch API bills half the synchronous price.
BATCH_DISCOUNT = 0.5

_OPENAI_LIST = "OpenAI list price"
_PAGE_2026 = "OpenAI pricing page as read by third parties, Apr-Jun 2026"


class Price(NamedTuple):
    input: float
    output: float
    source: str


PRICES: dict[str, Price] = {
    "gpt-5.5": Price(5.00, 30.00, _PAGE_2026),
    "gpt-5.4": Price(2.50, 15.00, _PAGE_2026),
    "gpt-5.4-mini": Price(0.75, 4.50, _PAGE_2026),
    "gpt-5.4-nano": Price(0.20, 1.25, _PAGE_2026),
    "gpt-5.2": Price(1.75, 14.00, _OPENAI_LIST),
    "gpt-5.1": Price(1.25, 10.00, _OPENAI_LIST),
    "gpt-5": Price(1.25, 10.00, _OPENAI_LIST),
    "gpt-5-mini": Price(0.25, 2.00, _OPENAI_LIST),
    "gpt-5-nano": Price(0.05, 0.40, _OPENAI_LIST),
    "gpt-4o": Price(2.50, 10.00, _OPENAI_LIST),
    "gpt-4o-mini": Price(0.15, 0.60, _OPENAI_LIST),
    "gpt-4.1": Price(2.00, 8.00, _OPENAI_LIST),
    "gpt-4.1-mini": Price(0.40, 1.60, _OPENAI_LIST),
    "gpt-4.1-nano": Price(0.10, 0.40, _OPENAI_LIST),
    "o3": Price(2.00, 8.00, _OPENAI_LIST),
    "o3-mini": Price(1.10, 4.40, _OPENAI_LIST),
    "o4-mini": Price(1.10, 4.40, _OPENAI_LIST),
}


def lookup(model: str) -> Price | None:
    """The price row of ``model``, matching dated snapshots (gpt-4o-2024-08-06) to their family; None: unknown."""
    model = (model or "").strip()
    if model in PRICES:
        return PRICES[model]
    for name in sorted(PRICES, key=len, reverse=True):
        if model.startswith(name + "-") and model[len(name) + 1:][:1].isdigit():
            return PRICES[name]
    return None


def price_of(model: str) -> tuple[float, float] | None:
    """(input, output) USD per million tokens, or None when the price is unknown."""
    found = lookup(model)
    return (found.input, found.output) if found is not None else None


def describe(model: str) -> str:
    """"$2.00 / $8.00 per 1M tokens (OpenAI list price)" or "unknown": what a page shows for a model's price."""
    found = lookup(model)
    if found is None:
        return UNKNOWN
    return f"${found.input:.2f} / ${found.output:.2f} per 1M tokens ({found.source})"


def cost_at(price: tuple[float, float] | None, input_tokens: int, output_tokens: int) -> float | None:
    """USD for the tokens at a price from :func:`price_of` (None when the price is unknown); callers costing many
    calls of one model look the price up once."""
    if price is None:
        return None
    return round((input_tokens * price[0] + output_tokens * price[1]) / 1_000_000, 8)


def estimate_cost(model: str, input_tokens: int, output_tokens: int) -> float | None:
    return cost_at(price_of(model), input_tokens, output_tokens)


def unknown_note(model: str) -> str:
    """What a projection says instead of a number."""
    return f"price unknown for {model or 'this model'}: no source we hold states it, so no cost is projected"
