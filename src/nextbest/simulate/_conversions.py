"""Who reaches an outcome in the week after each snapshot, when, and with how much."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from nextbest.simulate._other_outcomes import AMOUNT_SHARE

if TYPE_CHECKING:
    from nextbest.simulate._bank import _Customers

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def draw_other_uplifts(cust: _Customers, start: dt.date, rng: np.random.Generator | None) -> None:
    """The mail's effect on savings and private banking: the engaged young respond to a
    savings nudge, long-standing customers to an invitation; some are put off by either."""
    if rng is None:  # the bank without the other outcomes
        return
    n = len(cust.relation_id)
    age = ((start - dt.date(1970, 1, 1)).days - cust.birth_days) / 365.25
    tenure = ((start - dt.date(1970, 1, 1)).days - cust.since_days) / 365.25
    cust.uplift_savings = np.clip(
        0.5 + 0.6 * cust.engagement - 0.015 * (age - 35) + 0.25 * rng.standard_normal(n),
        -0.4,
        2.0,
    )
    cust.uplift_private_banking = np.clip(
        0.3 + 0.02 * (tenure - 10) - 0.2 * cust.engagement + 0.3 * rng.standard_normal(n),
        -0.4,
        2.0,
    )


@dataclass
class _Conversions:
    """Who starts investing in the week after each snapshot, when, and with how much."""

    ids: list[npt.NDArray[np.int64]] = field(default_factory=list)
    days: list[npt.NDArray[np.int64]] = field(default_factory=list)
    amounts: list[FloatArray] = field(default_factory=list)
    outcomes: list[npt.NDArray[np.str_]] = field(default_factory=list)
    reached: dict[str, BoolArray] = field(default_factory=dict)

    def draw_other(
        self,
        outcome: str,
        cust: _Customers,
        live: FloatArray,
        day_num: int,
        rng: np.random.Generator,
    ) -> None:
        """Who reaches ``outcome`` this week (at most once per customer), and the amount."""
        done = self.reached.setdefault(outcome, np.zeros(len(live), dtype=np.bool_))
        converted = (rng.random(len(live)) < live) & ~done
        k = int(converted.sum())
        if k:
            share, sigma = AMOUNT_SHARE[outcome]
            noise = rng.lognormal(0.0, sigma, size=k)
            amount = np.maximum(cust.balance[converted] * share * noise, 10.0)
            self.ids.append(cust.relation_id[converted])
            self.days.append(day_num + rng.integers(1, 8, size=k))
            rounded: FloatArray = np.round(amount, 2).astype(np.float64)
            self.amounts.append(rounded)
            self.outcomes.append(np.full(k, outcome))
            done |= converted

    def draw(
        self, cust: _Customers, live: FloatArray, day_num: int, rng: np.random.Generator
    ) -> None:
        converted = rng.random(len(live)) < live
        if converted.any():
            k = int(converted.sum())
            self.ids.append(cust.relation_id[converted])
            self.days.append(day_num + rng.integers(1, 8, size=k))
            share = np.clip(rng.lognormal(np.log(0.12), 0.6, size=k), 0.01, 0.9)
            amount = np.maximum(cust.balance[converted] * share, 100.0).astype(np.float64)
            self.amounts.append(np.round(amount, 2))
            self.outcomes.append(np.full(k, "investing"))
            cust.investor |= converted
