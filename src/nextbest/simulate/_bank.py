"""The synthetic bank: seeded weekly customer snapshots with a known ground truth.

Everything is vectorised over customers; the only Python loop is over weeks, because each
week's state depends on the previous one (balances, conversions). Each week is written as one
file, the way a warehouse delivers it.

Ground truth
------------
For every customer and week the generator knows the true weekly hazard of starting to invest
(``truth/hazard_*.parquet``; for a customer who converts, the hazard they would have had
without converting) and each customer's causal response to being mailed
(``truth/customers.parquet``: ``uplift_factor``, the relative increase of the hazard while a
mail flow runs). The weekly log-odds of converting are::

    -6.6 + 0.9 * engagement + 0.45 * (log10(balance) - 3.5) + 3.0 * trend
         - 0.6 * ((age - 40) / 15)**2 + 4.0 * fund_return_4w + 0.9 * [May]
         + 0.3 * [tenure < 2 years]

where ``engagement`` is the customer's latent engagement (standard normal; it drives app use
and logins), ``trend`` the true relative monthly balance change over the last 8 weeks and
``fund_return_4w`` the balanced fund's return over four weeks. May carries the holiday-pay
effect that no customer feature explains: a model that learns it must have learned the week.

Two more outcomes, one per further demo action, are drawn from a separate generator
(``default_rng([seed, 14])``), so every file of the investing stream is the same as before
they existed. Their weekly log-odds (coefficients in :data:`OUTCOME_COEFFICIENTS`)::

    savings (sets up a savings goal; payment-only adults: has_payment and not has_savings)
        -5.6 + 0.7 * engagement - 0.5 * (age - 30) / 15 + 4.0 * trend + 1.0 * [May]
    private_banking (books an introduction meeting; adults with balance >= 25,000 outside
    the private segment)
        -5.2 + 1.5 * (log10(balance) - 4.5) + 0.3 * (age - 50) / 15 + 0.03 * min(tenure, 40)

The mail's effect on them (``truth/customers.parquet``: ``uplift_savings``,
``uplift_private_banking``) is heterogeneous with sleeping dogs (clipped at -0.4), and the
amount on conversion is a share of the balance with log-normal noise; the truth files hold its
expectation (``value_<outcome>``). Each customer reaches each outcome at most once.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from nextbest.simulate._conversions import _Conversions, draw_other_uplifts
from nextbest.simulate._dialect import Delivery, DialectName
from nextbest.simulate._faults import FaultPlan, inject_malformed, inject_null_burst, plan_faults
from nextbest.simulate._files import (
    prepare_folders,
    snapshot_table,
    truth_table,
    write_audit,
    write_conversions,
    write_market,
    write_truth_customers,
)
from nextbest.simulate._market import MarketSeries, simulate_market
from nextbest.simulate._other_outcomes import (
    OUTCOMES,
    PRIVATE_BANKING_BALANCE,
    expected_amount,
    outcome_hazard,
)
from nextbest.simulate._writer import _Writer

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_START = dt.date(2024, 1, 7)  # a Sunday; snapshots are taken on Sundays
POSTCODE_AREAS = tuple(f"{a}xx" for a in range(10, 40))
TRUE_COEFFICIENTS: dict[str, float] = {
    "intercept": -6.6,
    "engagement": 0.9,
    "log_balance": 0.45,
    "trend": 3.0,
    "age_quadratic": -0.6,
    "fund_return_4w": 4.0,
    "may": 0.9,
    "new_customer": 0.3,
}


@dataclass(frozen=True)
class BankManifest:
    """What was generated, where, and which faults were injected (the tests' ground truth)."""

    out_dir: str
    n_customers: int
    n_weeks: int
    seed: int
    file_format: str
    snapshot_dates: list[str]
    delivered_dates: list[str]
    crash_start: str
    n_conversions: int
    faults: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0
    dialect: str = "plain"

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> BankManifest:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def _sigmoid(x: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-x))


def _relation_ids(n: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Unique pseudonymous 9-digit relation numbers in random order."""
    ids = np.unique(rng.integers(100_000_000, 999_999_999, size=int(n * 1.05) + 16))
    while len(ids) < n:  # pragma: no cover - astronomically unlikely
        extra = rng.integers(100_000_000, 999_999_999, size=n)
        ids = np.unique(np.concatenate([ids, extra]))
    return rng.permutation(ids)[:n].astype(np.int64)


@dataclass
class _Customers:
    """Static and slowly changing customer state."""

    relation_id: npt.NDArray[np.int64]
    birth_days: npt.NDArray[np.int64]  # days since epoch
    since_days: npt.NDArray[np.int64]  # true customer-since, days since epoch
    since_delivered: npt.NDArray[np.int64]  # what the warehouse says (unreliable)
    since_missing: BoolArray
    engagement: FloatArray
    segment: npt.NDArray[np.int8]
    gender: npt.NDArray[np.str_]
    postcode_area: npt.NDArray[np.str_]
    has_savings: BoolArray
    has_payment: BoolArray
    n_accounts: npt.NDArray[np.int16]
    app: BoolArray
    optin_general: BoolArray
    optin_investing: BoolArray
    investor: BoolArray
    balance: FloatArray
    drift: FloatArray
    uplift_factor: FloatArray
    uplift_savings: FloatArray = field(default_factory=lambda: np.empty(0))
    uplift_private_banking: FloatArray = field(default_factory=lambda: np.empty(0))


def _make_customers(n: int, start: dt.date, rng: np.random.Generator) -> _Customers:
    epoch_start = (start - dt.date(1970, 1, 1)).days
    gender = rng.choice(np.array(["F", "M", "X"]), size=n, p=[0.49, 0.49, 0.02])
    area_idx = rng.integers(0, len(POSTCODE_AREAS), size=n)
    area_wealth = np.linspace(-0.4, 0.6, len(POSTCODE_AREAS))[area_idx]
    # ages 14..92; about 5% minors, who must never be mailed
    age_years = np.clip(rng.normal(46, 18, size=n), 14, 92)
    minors = rng.random(n) < 0.05
    age_years[minors] = rng.uniform(14, 18, size=int(minors.sum()))
    birth_days = (epoch_start - age_years * 365.25).astype(np.int64)
    # latent engagement: slightly higher for the young and (a behavioural correlate the
    # fairness checks should see) slightly different by gender
    engagement = (
        rng.standard_normal(n) - 0.015 * (age_years - 46) + np.where(gender == "M", 0.1, -0.05)
    )
    wealth = rng.standard_normal(n) + area_wealth + 0.015 * (age_years - 40)
    segment = np.where(wealth > 1.9, 2, np.where(wealth > 0.9, 1, 0)).astype(np.int8)
    balance = np.exp(8.2 + 1.1 * wealth + 0.3 * rng.standard_normal(n))
    balance[age_years < 18] = np.exp(5.5 + 0.8 * rng.standard_normal(int((age_years < 18).sum())))
    tenure_years = np.minimum(rng.exponential(9.0, size=n), age_years - 0.5)
    since_days = (epoch_start - tenure_years * 365.25).astype(np.int64)
    # the warehouse's "customer since" is unreliable: migration default dates, typos, gaps
    since_delivered = since_days.copy()
    u = rng.random(n)
    since_delivered[u < 0.04] = (dt.date(1900, 1, 1) - dt.date(1970, 1, 1)).days
    since_delivered[(u >= 0.04) & (u < 0.05)] = (dt.date(2099, 12, 31) - dt.date(1970, 1, 1)).days
    since_missing = (u >= 0.05) & (u < 0.06)
    has_payment = rng.random(n) < 0.9
    has_savings = (rng.random(n) < 0.7) | ~has_payment
    n_accounts = (
        has_payment.astype(np.int16)
        + has_savings.astype(np.int16)
        + rng.poisson(0.4 + 0.4 * segment)
    ).astype(np.int16)
    app = rng.random(n) < _sigmoid(0.3 + 1.2 * engagement - 0.03 * (age_years - 40))
    optin_general = rng.random(n) < 0.75
    optin_investing = optin_general & (rng.random(n) < 0.72)
    investor = (rng.random(n) < 0.10 + 0.12 * segment) & (age_years >= 18)
    drift = rng.normal(0.0, 0.008, size=n)
    # causal effect of being mailed, heterogeneous: engaged, younger customers respond; some
    # older, disengaged customers are put off ("sleeping dogs")
    uplift_factor = np.clip(
        0.6 + 0.5 * engagement - 0.012 * (age_years - 40) + 0.2 * rng.standard_normal(n),
        -0.4,
        2.0,
    )
    return _Customers(
        relation_id=_relation_ids(n, rng),
        birth_days=birth_days,
        since_days=since_days,
        since_delivered=since_delivered,
        since_missing=since_missing,
        engagement=engagement,
        segment=segment,
        gender=gender,
        postcode_area=np.array(POSTCODE_AREAS)[area_idx],
        has_savings=has_savings,
        has_payment=has_payment,
        n_accounts=n_accounts,
        app=app,
        optin_general=optin_general,
        optin_investing=optin_investing,
        investor=investor,
        balance=balance,
        drift=drift,
        uplift_factor=uplift_factor,
    )


def weekly_hazard(
    *,
    engagement: FloatArray,
    balance: FloatArray,
    trend: FloatArray,
    age: FloatArray,
    fund_return_4w: float,
    is_may: bool,
    tenure_years: FloatArray,
) -> FloatArray:
    """The true weekly probability that a non-investor starts investing (no mail)."""
    c = TRUE_COEFFICIENTS
    logit = (
        c["intercept"]
        + c["engagement"] * engagement
        + c["log_balance"] * (np.log10(np.maximum(balance, 1.0)) - 3.5)
        + c["trend"] * np.clip(trend, -0.5, 0.5)
        + c["age_quadratic"] * ((age - 40.0) / 15.0) ** 2
        + c["fund_return_4w"] * fund_return_4w
        + c["may"] * float(is_may)
        + c["new_customer"] * (tenure_years < 2.0)
    )
    return _sigmoid(logit)


def simulate_bank(
    out_dir: str | Path,
    *,
    n_customers: int = 20_000,
    n_weeks: int = 78,
    seed: int = 42,
    start: dt.date = DEFAULT_START,
    file_format: Literal["parquet", "csv"] = "parquet",
    dialect: DialectName = "plain",
    faults: bool = True,
    truth: bool = True,
    progress: Callable[[int, int], None] | None = None,
    other_outcomes: bool = True,
) -> BankManifest:
    """Generate the synthetic bank into ``out_dir`` and return its manifest.

    Parameters
    ----------
    out_dir
        Folder to write ``snapshots/``, ``late/``, ``market/``, ``conversions/``, ``audit/``,
        ``truth/`` and ``manifest.json`` into.
    n_customers, n_weeks
        Size of the bank. Faults need at least 30 weeks.
    seed
        Everything is a deterministic function of the seed.
    file_format, dialect
        ``"csv", "nl"``: as a Dutch warehouse exports it (:mod:`nextbest.simulate._dialect`).
    faults
        Inject the warehouse faults the checks must catch (late week, malformed batch,
        null burst); their weeks and expected counts are in the manifest.
    truth
        Also write the weekly true hazards (large at 1M customers).
    other_outcomes
        Also draw the savings and private-banking outcomes (from their own generator; off,
        the bank is the investing-only bank of the same seed).

    Example
    -------
    >>> m = simulate_bank("/tmp/nb-doc-bank", n_customers=500, n_weeks=30)  # doctest: +SKIP
    >>> m.n_weeks
    30
    """
    t0 = time.perf_counter()
    _check_size(n_customers, n_weeks, start)
    delivery = Delivery(file_format, dialect)
    out = Path(out_dir)
    prepare_folders(out)
    rng = np.random.default_rng(seed)
    dates, crash_start, market = _market(start, n_weeks, rng)
    write_market(market, out / "market" / f"fund_prices.{file_format}", delivery)
    cust = _make_customers(n_customers, start, rng)
    plan: FaultPlan | None = plan_faults(n_weeks, n_customers) if faults and n_weeks >= 30 else None
    write_audit(cust, out / "audit" / f"sensitive_attributes.{file_format}", delivery)
    other = np.random.default_rng([seed, 14]) if other_outcomes else None
    draw_other_uplifts(cust, start, other)
    weeks = _Weeks(out=out, delivery=delivery, truth=truth, plan=plan, market=market, other=other)
    weeks.run(cust, dates, rng, progress)
    found = weeks.conversions
    n_conv = write_conversions(out, found.ids, found.days, found.amounts, found.outcomes, delivery)
    delivery.write_sources(out)
    write_truth_customers(cust, out / "truth" / "customers.parquet")
    if plan is not None:
        for name in ("late_week", "malformed_week", "null_burst_week"):
            weeks.fault_report[name] = dates[getattr(plan, name)].isoformat()
    manifest = BankManifest(
        out_dir=str(out),
        n_customers=n_customers,
        n_weeks=n_weeks,
        seed=seed,
        file_format=file_format,
        dialect=dialect,
        snapshot_dates=[d.isoformat() for d in dates],
        delivered_dates=weeks.delivered,
        crash_start=crash_start.isoformat(),
        n_conversions=n_conv,
        faults=weeks.fault_report,
        seconds=round(time.perf_counter() - t0, 3),
    )
    manifest.write(out / "manifest.json")
    return manifest


def _market(
    start: dt.date, n_weeks: int, rng: np.random.Generator
) -> tuple[list[dt.date], dt.date, MarketSeries]:
    """The snapshot dates, the start of the market crash and the fund prices."""
    dates = [start + dt.timedelta(weeks=w) for w in range(n_weeks)]
    crash_start = dates[int(n_weeks * 0.78)] - dt.timedelta(days=6)
    market = simulate_market(
        start - dt.timedelta(days=70), dates[-1], crash_start=crash_start, rng=rng
    )
    return dates, crash_start, market


def _check_size(n_customers: int, n_weeks: int, start: dt.date) -> None:
    if n_customers < 100:
        raise ValueError(f"n_customers must be at least 100, got {n_customers}")
    if n_weeks < 12:
        raise ValueError(f"n_weeks must be at least 12 (three months of history), got {n_weeks}")
    if start.weekday() != 6:
        raise ValueError(f"start must be a Sunday (snapshots are weekly on Sunday), got {start}")


def _age_customers(cust: _Customers, day: dt.date, rng: np.random.Generator) -> None:
    """One week passes: balances drift (plus May holiday pay), products change a little."""
    n = len(cust.relation_id)
    redraw = rng.random(n) < 0.04  # personal drift, redrawn now and then
    cust.drift[redraw] = rng.normal(0.0, 0.008, size=int(redraw.sum()))
    step = cust.drift + 0.012 * rng.standard_normal(n)
    cust.balance = cust.balance * np.exp(step)
    if day.month == 5 and day.day <= 7:
        cust.balance += cust.has_payment * rng.uniform(800, 2500, size=n)
    # slow adoption of the app, a few opt-outs, new accounts
    cust.app |= rng.random(n) < 0.004 * (1 + cust.engagement.clip(0, None))
    cust.optin_investing &= rng.random(n) >= 0.001
    cust.n_accounts += (rng.random(n) < 0.003).astype(np.int16)


@dataclass
class _Weeks:
    """The weekly loop: its state carries from week to week (balances, conversions)."""

    out: Path
    delivery: Delivery
    truth: bool
    plan: FaultPlan | None
    market: MarketSeries
    other: np.random.Generator | None = None
    conversions: _Conversions = field(default_factory=_Conversions)
    fault_report: dict[str, object] = field(default_factory=dict)
    delivered: list[str] = field(default_factory=list)

    def run(
        self,
        cust: _Customers,
        dates: list[dt.date],
        rng: np.random.Generator,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        initial_investor = cust.investor.copy()
        history = np.tile(cust.balance[:, None], (1, 9)).astype(np.float64)  # last 9 balances
        logins_rate = np.exp(0.45 + 0.7 * cust.engagement)
        with _Writer() as writer:
            for w, day in enumerate(dates):
                if w > 0:
                    _age_customers(cust, day, rng)
                    history[:, w % 9] = cust.balance  # a ring of the last 9 weekly balances
                day_num = (day - dt.date(1970, 1, 1)).days
                age = (day_num - cust.birth_days) / 365.25
                oldest = history[:, (w + 1) % 9] if w >= 8 else history[:, 0]
                trend = (cust.balance - oldest) / 2.0 / np.maximum(history.mean(axis=1), 50.0)
                logins = rng.poisson(logins_rate * 4.0 * (1.0 + 0.2 * (day.month == 12)))
                hazard = self._hazard(cust, day, age, trend, initial_investor)
                live = np.where(cust.investor, 0.0, hazard)
                self._deliver(writer, snapshot_table(cust, day, age, logins), w, day, rng)
                others = self._other_hazards(cust, day, age, trend)
                if self.truth:
                    path = self.out / "truth" / f"hazard_{day.isoformat()}.parquet"
                    values = {o: expected_amount(o, cust.balance) for o in OUTCOMES}
                    table = truth_table(cust, day, hazard, others, values if others else {})
                    writer.submit(table, path, Delivery("parquet"))
                self.conversions.draw(cust, live, day_num, rng)
                if self.other is not None:
                    for outcome, h in others.items():
                        self.conversions.draw_other(outcome, cust, h, day_num, self.other)
                if progress is not None:
                    progress(w + 1, len(dates))
                writer.wait_beyond(4)  # keep the queue short so memory stays O(customers)

    def _hazard(
        self,
        cust: _Customers,
        day: dt.date,
        age: FloatArray,
        trend: FloatArray,
        initial_investor: BoolArray,
    ) -> FloatArray:
        day_num = (day - dt.date(1970, 1, 1)).days
        hazard = weekly_hazard(
            engagement=cust.engagement,
            balance=cust.balance,
            trend=trend,
            age=age,
            fund_return_4w=self.market.return_asof("balanced", day, 28),
            is_may=day.month == 5,
            tenure_years=(day_num - cust.since_days) / 365.25,
        )
        # the truth keeps the latent hazard of customers who convert along the way (what
        # they would have had, had they not converted yet); only those who already
        # invested at the start, and minors, have none
        hazard[initial_investor | (age < 18)] = 0.0
        return hazard

    def _other_hazards(
        self, cust: _Customers, day: dt.date, age: FloatArray, trend: FloatArray
    ) -> dict[str, FloatArray]:
        """The week's true hazards of savings and private banking, zero outside their
        audience (and for minors)."""
        if self.other is None:
            return {}
        tenure = ((day - dt.date(1970, 1, 1)).days - cust.since_days) / 365.25
        adult = age >= 18
        audience = {
            "savings": adult & cust.has_payment & ~cust.has_savings,
            "private_banking": adult
            & (cust.balance >= PRIVATE_BANKING_BALANCE)
            & (cust.segment != 2),
        }
        return {
            o: np.where(
                audience[o],
                outcome_hazard(
                    o,
                    engagement=cust.engagement,
                    balance=cust.balance,
                    trend=trend,
                    age=age,
                    is_may=day.month == 5,
                    tenure_years=tenure,
                ),
                0.0,
            )
            for o in ("savings", "private_banking")
        }

    def _deliver(
        self, writer: _Writer, table: pa.Table, w: int, day: dt.date, rng: np.random.Generator
    ) -> None:
        """Write the week's snapshot, with this week's faults, to where the warehouse puts it."""
        plan, iso = self.plan, day.isoformat()
        if plan is not None and w == plan.malformed_week:
            table, self.fault_report["malformed"] = inject_malformed(
                table, plan, rng, self.delivery
            )
        if plan is not None and w == plan.null_burst_week:
            table, self.fault_report["null_burst"] = inject_null_burst(table, plan, rng)
        folder = "late" if plan is not None and w == plan.late_week else "snapshots"
        if folder == "snapshots":
            self.delivered.append(iso)
        path = self.out / folder / f"snapshot_{iso}.{self.delivery.file_format}"
        writer.submit(table, path, self.delivery)
