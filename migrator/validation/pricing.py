"""List prices (USD per million tokens, input / output) for an estimate of what a run costs, with the date the
table was last checked (projections and run pages show it: a price is only as good as its date).

Estimates only: cached-input discounts and tool fees are not modelled; the Batch API's discount is
``BATCH_DISCOUNT``. A model without a price here gets no estimate (the cost check says so) rather than a guess.
Successor models carry the price of the family they replace until OpenAI's price list is checked again.
"""

from __future__ import annotations

PRICED_ON = "2026-12-01"
PRICE_SOURCE = "migrator's list-price table"
# The Batch API bills half the synchronous price.
BATCH_DISCOUNT = 0.5

PRICES: dict[str, tuple[float, float]] = {
    "gpt-6-luna": (2.00, 8.00),
    "gpt-6.1-sol": (1.25, 10.00),
    "gpt-5.6-sol": (1.25, 10.00),
    "gpt-5.5": (1.25, 10.00),
    "gpt-5.4": (1.25, 10.00),
    "gpt-5.4-mini": (0.25, 2.00),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
}


def price_of(model: str) -> tuple[float, float] | None:
    """The price of ``model``, matching dated snapshots (gpt-4o-2024-08-06) to their family."""
    model = (model or "").strip()
    if model in PRICES:
        return PRICES[model]
    for name in sorted(PRICES, key=len, reverse=True):
        if model.startswith(name + "-") and model[len(name) + 1:][:1].isdigit():
            return PRICES[name]
    return None


def estimate_cost(model: str, input_tokens: int, output_tokens: int) -> float | None:
    price = price_of(model)
    if price is None:
        return None
    return round((input_tokens * price[0] + output_tokens * price[1]) / 1_000_000, 8)
