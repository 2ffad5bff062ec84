"""The synthetic bank shared by the demo, the tests and the benchmarks (known ground truth)."""

from nextbest.simulate._bank import (
    DEFAULT_START,
    TRUE_COEFFICIENTS,
    BankManifest,
    simulate_bank,
    weekly_hazard,
)
from nextbest.simulate._market import FUNDS, MarketSeries, simulate_market
from nextbest.simulate._respond import conversion_probability, draw_conversion_weeks

__all__ = [
    "DEFAULT_START",
    "FUNDS",
    "TRUE_COEFFICIENTS",
    "BankManifest",
    "MarketSeries",
    "conversion_probability",
    "draw_conversion_weeks",
    "simulate_bank",
    "simulate_market",
    "weekly_hazard",
]
