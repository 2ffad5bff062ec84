"""The feature definitions: each a SQL expression with a plain-language description.

Every expression is evaluated over one row of the *feature base* for a customer and a snapshot
date D (see :mod:`nextbest.features._build`), whose columns are:

* the customer's snapshot at D (``age``, ``total_balance``, ``app_installed``, …);
* ``balance_4w`` and ``balance_8w``: the balance at the most recent snapshot at or before
  D − 4 weeks and D − 8 weeks, no more than two weeks older than that (else NULL);
* ``price_0``, ``price_1w``, ``price_4w``: the market fund's last price at or before D, D − 7
  days and D − 28 days.

Nothing in the base comes from after D, which is what makes every feature point-in-time
correct. The expressions use plain, portable SQL (CASE, LEAST, GREATEST, arithmetic) so the
same definitions can run in a warehouse or on Spark.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeatureDefinition:
    """One explainable feature."""

    name: str
    sql: str
    description: str
    unit: str
    #: True when the value is the same for every customer on a date (market-wide)
    market_wide: bool = False


_TREND = """
CASE
    WHEN balance_8w IS NOT NULL THEN
        (total_balance - balance_8w) / 2.0
        / GREATEST((total_balance + coalesce(balance_4w, (total_balance + balance_8w) / 2.0)
                    + balance_8w) / 3.0, 100.0)
    WHEN balance_4w IS NOT NULL THEN
        (total_balance - balance_4w) / GREATEST((total_balance + balance_4w) / 2.0, 100.0)
END"""

_ENGAGEMENT = """
CAST(app_installed AS INTEGER)
+ LEAST(GREATEST(n_accounts, 0), 4) / 4.0
+ LEAST(GREATEST(ib_logins_4w, 0), 20) / 20.0"""

_TENURE = """
CASE
    WHEN customer_since >= DATE '1950-01-01' AND customer_since <= snapshot_date
    THEN date_diff('day', customer_since, snapshot_date) / 365.25
END"""

FEATURES: dict[str, FeatureDefinition] = {
    f.name: f
    for f in (
        FeatureDefinition(
            "age",
            "CAST(age AS DOUBLE)",
            "Age of the customer in whole years on the snapshot date.",
            "years",
        ),
        FeatureDefinition(
            "balance",
            "total_balance",
            "Total balance over all the customer's accounts on the snapshot date.",
            "euros",
        ),
        FeatureDefinition(
            "balance_trend",
            _TREND,
            "How fast the balance grows: change per month over the last two months, relative "
            "to the average balance, from three measurement points (now, 4 and 8 weeks ago). "
            "0.10 means growing about 10% a month. Empty for customers without that history.",
            "share per month",
        ),
        FeatureDefinition(
            "engagement",
            _ENGAGEMENT,
            "How actively the customer banks with us, from 0 to 3: one point for having the "
            "app, up to one point for the number of accounts (full at 4), up to one point for "
            "internet-banking logins in the last 4 weeks (full at 20). Empty when any part "
            "is unknown.",
            "points (0-3)",
        ),
        FeatureDefinition(
            "tenure_years",
            _TENURE,
            "Years the customer has been with the bank. The source field is unreliable "
            "(migration defaults such as 1900-01-01, dates in the future), so those are left "
            "empty rather than guessed.",
            "years",
        ),
        FeatureDefinition(
            "market_trend",
            "CASE WHEN price_0 / price_4w - 1.0 > 0.03 THEN 1.0 "
            "WHEN price_0 / price_4w - 1.0 < -0.03 THEN -1.0 "
            "WHEN price_4w IS NOT NULL THEN 0.0 END",
            "The market climate in three steps: +1 when the reference fund rose more than 3% "
            "over the last four weeks, −1 when it fell more than 3%, 0 in between. Coarse on "
            "purpose: it cannot tell the model which week it is.",
            "band (-1, 0, +1)",
            market_wide=True,
        ),
        FeatureDefinition(
            "fund_return_1w",
            "price_0 / price_1w - 1.0",
            "Return of the bank's reference fund over the last week (0.02 = +2%). The same "
            "for every customer on a date: it describes the market climate, not the person.",
            "share",
            market_wide=True,
        ),
        FeatureDefinition(
            "fund_return_4w",
            "price_0 / price_4w - 1.0",
            "Return of the bank's reference fund over the last four weeks (about a month). "
            "The same for every customer on a date.",
            "share",
            market_wide=True,
        ),
    )
}
