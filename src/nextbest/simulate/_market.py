"""The bank's internal fund-price series: normal weeks, a crash, and a recovery."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FUNDS: tuple[tuple[str, float], ...] = (
    # (fund, beta to the market factor)
    ("defensive", 0.4),
    ("balanced", 1.0),
    ("offensive", 1.5),
)


@dataclass(frozen=True)
class MarketSeries:
    """Daily (business-day) prices per fund."""

    dates: npt.NDArray[np.datetime64]
    prices: dict[str, npt.NDArray[np.float64]]
    crash_start: dt.date
    crash_end: dt.date

    def price_asof(self, fund: str, day: dt.date) -> float:
        """Last price on or before ``day`` (the same as-of rule the features use)."""
        idx = int(np.searchsorted(self.dates, np.datetime64(day, "D"), side="right")) - 1
        if idx < 0:
            raise ValueError(f"no price for {fund} on or before {day}")
        return float(self.prices[fund][idx])

    def return_asof(self, fund: str, day: dt.date, days_back: int) -> float:
        """Return of ``fund`` from ``day - days_back`` to ``day``, as-of prices."""
        now = self.price_asof(fund, day)
        then = self.price_asof(fund, day - dt.timedelta(days=days_back))
        return now / then - 1.0


def simulate_market(
    first: dt.date, last: dt.date, *, crash_start: dt.date, rng: np.random.Generator
) -> MarketSeries:
    """Business-day prices from ``first`` to ``last`` with a crash starting at ``crash_start``.

    The crash is modelled on March 2020: about four weeks of steep falls with high volatility
    (roughly -30% for the balanced fund), followed by a partial recovery over three months.
    """
    days = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + 1)
    weekday = (days.astype("datetime64[D]").view("int64") - 4) % 7  # 1970-01-01 was a Thursday
    days = days[weekday < 5]
    n = len(days)
    crash_end = crash_start + dt.timedelta(days=28)
    recovery_end = crash_end + dt.timedelta(days=91)
    in_crash = (days >= np.datetime64(crash_start)) & (days < np.datetime64(crash_end))
    in_recovery = (days >= np.datetime64(crash_end)) & (days < np.datetime64(recovery_end))
    drift = np.full(n, 0.00025)
    vol = np.full(n, 0.007)
    drift[in_crash] = -0.018
    vol[in_crash] = 0.015  # steep and reliably deep, like March 2020
    drift[in_recovery] = 0.0025
    vol[in_recovery] = 0.009
    market = drift + vol * rng.standard_normal(n)
    prices: dict[str, npt.NDArray[np.float64]] = {}
    for i, (fund, beta) in enumerate(FUNDS):
        idio = 0.002 * rng.standard_normal(n)
        daily = beta * market + idio
        start_price = 100.0 + 20.0 * i
        prices[fund] = np.round(start_price * np.exp(np.cumsum(daily)), 4)
    return MarketSeries(dates=days, prices=prices, crash_start=crash_start, crash_end=crash_end)
