"""Plain-language phrases for feature values, used in reason codes."""

from __future__ import annotations

import math
from collections.abc import Callable


def _updown(value: float, what: str, period: str, digits: int = 0) -> str:
    word = "up" if value >= 0 else "down"
    return f"{what} {word} {abs(value) * 100:.{digits}f}% {period}"


def _tenure(v: float) -> str:
    return "new customer (under a year)" if v < 1 else f"customer for {v:.0f} years"


_PHRASES: dict[str, Callable[[float], str]] = {
    "age": lambda v: f"age {v:.0f}",
    "balance": lambda v: f"balance €{v:,.0f}",
    "balance_trend": lambda v: _updown(v, "balance", "a month"),
    "engagement": lambda v: f"engagement {v:.1f} of 3",
    "tenure_years": _tenure,
    "fund_return_1w": lambda v: _updown(v, "funds", "this week", 1),
    "fund_return_4w": lambda v: _updown(v, "funds", "this month", 1),
    "market_trend": lambda v: {1: "markets rising", -1: "markets falling"}.get(
        round(v), "markets flat"
    ),
}


def phrase(feature: str, value: float | None) -> str:
    """Describe one feature value in words, e.g. ``phrase("balance_trend", 0.2)``.

    >>> phrase("balance_trend", 0.2)
    'balance up 20% a month'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{feature.replace('_', ' ')} unknown"
    fmt = _PHRASES.get(feature)
    return fmt(float(value)) if fmt else f"{feature.replace('_', ' ')} {value:g}"
