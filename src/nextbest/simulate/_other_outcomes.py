"""The synthetic bank's further outcomes (savings, private banking): their true weekly hazards
and amounts on conversion; the coefficients are documented in :mod:`nextbest.simulate._bank`."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def _sigmoid(x: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-x))


#: the outcomes of the synthetic bank (conversions.outcome), one per demo action
OUTCOMES = ("investing", "savings", "private_banking")
OUTCOME_COEFFICIENTS: dict[str, dict[str, float]] = {
    "savings": {
        "intercept": -5.6,
        "engagement": 0.7,
        "age_linear": -0.5,
        "trend": 4.0,
        "may": 1.0,
    },
    "private_banking": {
        "intercept": -5.2,
        "log_balance": 1.5,
        "age_linear": 0.3,
        "tenure": 0.03,
    },
}
#: amount on conversion = balance * share * lognormal(0, sigma): (share, sigma) per outcome;
#: investing draws its share from lognormal(log 0.12, 0.6) (clipped), as it always has
AMOUNT_SHARE: dict[str, tuple[float, float]] = {
    "investing": (0.12, 0.6),
    "savings": (0.02, 0.5),
    "private_banking": (0.6, 0.4),
}
PRIVATE_BANKING_BALANCE = 25_000.0


def expected_amount(outcome: str, balance: FloatArray) -> FloatArray:
    """E[amount | converts] for ``outcome`` at ``balance`` (the investing clip ignored)."""
    share, sigma = AMOUNT_SHARE[outcome]
    return np.maximum(balance, 0.0) * share * float(np.exp(sigma**2 / 2.0))


def outcome_hazard(
    outcome: str,
    *,
    engagement: FloatArray,
    balance: FloatArray,
    trend: FloatArray,
    age: FloatArray,
    is_may: bool,
    tenure_years: FloatArray,
) -> FloatArray:
    """The true weekly probability of reaching ``outcome`` (savings, private_banking), before
    the audience is applied (no mail)."""
    c = OUTCOME_COEFFICIENTS[outcome]
    if outcome == "savings":
        logit = (
            c["intercept"]
            + c["engagement"] * engagement
            + c["age_linear"] * (age - 30.0) / 15.0
            + c["trend"] * np.clip(trend, -0.5, 0.5)
            + c["may"] * float(is_may)
        )
    else:
        logit = (
            c["intercept"]
            + c["log_balance"] * (np.log10(np.maximum(balance, 1.0)) - 4.5)
            + c["age_linear"] * (age - 50.0) / 15.0
            + c["tenure"] * np.clip(tenure_years, 0.0, 40.0)
        )
    return _sigmoid(logit)
