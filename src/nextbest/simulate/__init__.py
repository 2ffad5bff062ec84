"""The synthetic bank shared by the demo, the tests and the benchmarks (known ground truth)."""

from nextbest.simulate._bank import (
    DEFAULT_START,
    TRUE_COEFFICIENTS,
    BankManifest,
    simulate_bank,
    weekly_hazard,
)
from nextbest.simulate._dialect import SOURCES_FILE, Delivery, dutch_csv, sources_toml
from nextbest.simulate._files import truth_columns
from nextbest.simulate._market import FUNDS, MarketSeries, simulate_market
from nextbest.simulate._respond import conversion_probability, draw_conversion_weeks

__all__ = [
    "DEFAULT_START",
    "FUNDS",
    "SOURCES_FILE",
    "TRUE_COEFFICIENTS",
    "BankManifest",
    "Delivery",
    "MarketSeries",
    "conversion_probability",
    "draw_conversion_weeks",
    "dutch_csv",
    "simulate_bank",
    "simulate_market",
    "sources_toml",
    "truth_columns",
    "weekly_hazard",
]
