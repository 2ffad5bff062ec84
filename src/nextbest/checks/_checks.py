"""Guards before and after deciding a week. Each is a named check with a verdict and a figure.

Before the run (on the inputs): ``freshness``, ``contract``, ``row_count``, ``drift:<feature>``
(population stability index against the champion's training data) and ``market_regime``.
After deciding (on the list): ``volume`` and ``concentration``. A ``halt`` stops the run
before any list exists; a ``warn`` is shown at review.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from nextbest.config import ChecksConfig
from nextbest.store import Store

#: a check's verdict: ``halt`` stops the run, ``warn`` is shown at review
Verdict = Literal["pass", "warn", "halt"]
VERDICTS: tuple[Verdict, ...] = ("pass", "warn", "halt")
#: volatility may exceed the highest seen in training by this factor before the run halts
VOLATILITY_MARGIN = 1.5


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    figure: float | None
    limit: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _grade(figure: float, *, warn: float, halt: float) -> Verdict:
    """``halt`` above ``halt``, ``warn`` above ``warn``, else ``pass``."""
    return "halt" if figure > halt else "warn" if figure > warn else "pass"


def freshness(store: Store, day: dt.date) -> Check:
    """This week's snapshot is there (the warehouse is sometimes late)."""
    n = int(store.scalar("SELECT count(*) FROM snapshots WHERE snapshot_date = ?", [day]))
    latest = store.scalar("SELECT max(snapshot_date) FROM snapshots")
    if n:
        return Check(
            "freshness",
            "pass",
            float(n),
            "snapshot present",
            f"{n:,} customers in the snapshot of {day}",
        )
    return Check(
        "freshness",
        "halt",
        0.0,
        "snapshot present",
        f"no snapshot for {day} has been delivered (latest loaded: {latest}); the warehouse "
        "is late. Ingest the week when it arrives and run again — nothing was sent.",
    )


def contract(store: Store, day: dt.date) -> Check:
    """The week's data met its contract (null limits, quarantine share)."""
    rows = store.fetchall(
        """
        SELECT i.severity, i.message FROM contract_issues i
        JOIN ingest_batches b USING (batch_id)
        WHERE b.status = 'loaded' AND b.table_name = 'snapshots'
          AND list_contains(b.partitions, ?)
        ORDER BY i.severity = 'error' DESC
        """,
        [day.isoformat()],
    )
    errors = [m for s, m in rows if s == "error"]
    warns = [m for s, m in rows if s == "warn"]
    if errors:
        return Check(
            "contract",
            "halt",
            float(len(errors)),
            "no contract errors",
            "; ".join(errors) + ". Ask the warehouse to re-deliver the week.",
        )
    if warns:
        return Check("contract", "warn", float(len(warns)), "no contract errors", "; ".join(warns))
    return Check("contract", "pass", 0.0, "no contract errors", "the week met its contract")


def row_count(store: Store, day: dt.date, limits: ChecksConfig) -> Check:
    """The number of customers did not jump against the previous delivered week."""
    rows = store.fetchall(
        "SELECT snapshot_date, count(*) FROM snapshots WHERE snapshot_date <= ? "
        "GROUP BY 1 ORDER BY 1 DESC LIMIT 2",
        [day],
    )
    if len(rows) < 2 or rows[0][0] != day:
        return Check("row_count", "pass", None, "", "no earlier week to compare with")
    now, before = rows[0][1], rows[1][1]
    change = now / before - 1
    verdict = _grade(abs(change), warn=limits.row_change_warn, halt=limits.row_change_halt)
    return Check(
        "row_count",
        verdict,
        change,
        f"|change| ≤ {limits.row_change_warn:.0%} (halt > {limits.row_change_halt:.0%})",
        f"{now:,} customers against {before:,} on {rows[1][0]} ({change:+.1%})",
    )


def psi(expected: list[float], actual: list[float]) -> float:
    """Population stability index Σ (a − e) ln(a / e) over bins (shares floored at 1e-4).

    >>> round(psi([0.5, 0.5], [0.5, 0.5]), 6)
    0.0
    """
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, 1e-4), max(a, 1e-4)
        total += (a - e) * math.log(a / e)
    return total


def drift(
    values: dict[str, npt.NDArray[np.float64]],
    profile: dict[str, Any],
    limits: ChecksConfig,
) -> list[Check]:
    """PSI of each profiled feature against the *closest* week of the champion's training data
    (deciles of all training rows plus a missing bin): a week unlike every week the model has
    seen drifts; a seasonal week that resembles the same season seen before does not."""
    checks = []
    for name, prof in profile.items():
        if name not in values:
            continue
        col = values[name]
        edges = np.asarray(prof["edges"])
        ok = col[~np.isnan(col)]
        counts = np.bincount(np.searchsorted(edges, ok, side="right"), minlength=len(edges) + 1)
        actual = [*(counts / len(col)).tolist(), float(np.isnan(col).mean())]
        best, closest = min(
            (psi([*w["shares"], w["missing"]], actual), day) for day, w in prof["weeks"].items()
        )
        verdict = _grade(best, warn=limits.psi_warn, halt=limits.psi_halt)
        missing = float(np.isnan(col).mean())
        checks.append(
            Check(
                f"drift:{name}",
                verdict,
                best,
                f"PSI ≤ {limits.psi_warn} (halt > {limits.psi_halt})",
                f"'{name}' against the closest training week ({closest}): PSI {best:.3f}"
                + (f", {missing:.0%} missing" if missing > 0.01 else ""),
            )
        )
    return checks


def market_state(store: Store, fund: str, day: dt.date) -> dict[str, float] | None:
    """The fund's 4-week return and 20-business-day volatility of daily returns at ``day``."""
    row = store.fetchone(
        """
        WITH p AS (
            SELECT price_date, price, price / lag(price) OVER (ORDER BY price_date) - 1 AS r
            FROM market_prices WHERE fund = ? AND price_date BETWEEN ? AND ?)
        SELECT
            max_by(price, price_date) / max_by(price, price_date)
                FILTER (WHERE price_date <= CAST(? AS DATE) - 28) - 1,
            stddev_samp(r) FILTER (WHERE price_date > CAST(? AS DATE) - 28)
        FROM p
        """,
        [fund, day - dt.timedelta(days=45), day, day, day],
    )
    if row is None or row[0] is None:
        return None
    return {"return_4w": float(row[0]), "volatility": float(row[1] or 0.0)}


def market_regime(
    state: dict[str, float] | None, band: dict[str, float] | None, day: dt.date
) -> Check:
    """The market is inside the band the model has seen; outside it, humans take the wheel."""
    if state is None or not band:
        return Check(
            "market_regime",
            "warn",
            None,
            "inside the trained band",
            f"no market data or no trained band to compare with on {day}",
        )
    lo, hi = band["fund_return_4w_min"], band["fund_return_4w_max"]
    vol_max = band.get("volatility_max")
    r, vol = state["return_4w"], state["volatility"]
    problems = []
    if not lo <= r <= hi:
        problems.append(
            f"4-week fund return {r:+.1%} is outside the trained band [{lo:+.1%}, {hi:+.1%}]"
        )
    if vol_max is not None and vol > vol_max * VOLATILITY_MARGIN:
        problems.append(
            f"daily volatility {vol:.2%} is above {VOLATILITY_MARGIN:g}× the highest seen in "
            f"training ({vol_max:.2%})"
        )
    limit = f"return in [{lo:+.1%}, {hi:+.1%}]" + (
        f", volatility ≤ {VOLATILITY_MARGIN:g}× {vol_max:.2%}" if vol_max is not None else ""
    )
    if problems:
        return Check(
            "market_regime",
            "halt",
            r,
            limit,
            "; ".join(problems) + ". The model has not seen such a market: a person "
            "decides whether to mail this week (re-run with an override and a reason).",
        )
    return Check("market_regime", "pass", r, limit, f"4-week return {r:+.1%}, volatility {vol:.2%}")


def volume(
    candidates: int, selected: int, *, min_weekly: int, max_weekly: int, limits: ChecksConfig
) -> Check:
    """The selection is inside its band: near zero is fine, a runaway is not."""
    limit = (
        f"{min_weekly}–{max_weekly} selected; above the threshold ≤ "
        f"{limits.runaway_factor:g}× the maximum"
    )
    if candidates > limits.runaway_factor * max_weekly:
        return Check(
            "volume",
            "halt",
            float(candidates),
            limit,
            f"{candidates:,} customers scored above the threshold against a weekly "
            f"maximum of {max_weekly:,} ({candidates / max_weekly:.1f}×): the model or "
            "the week is out of the ordinary. Check the drift and market checks.",
        )
    if selected < min_weekly:
        return Check(
            "volume",
            "warn",
            float(selected),
            limit,
            f"only {selected:,} selected, below the weekly minimum of {min_weekly:,}",
        )
    return Check("volume", "pass", float(selected), limit, f"{selected:,} selected")


#: the age bands of the concentration check and of the fairness report: (below this age, band);
#: older customers, and those of unknown age, are in the last band
AGE_BANDS: tuple[tuple[int, str], ...] = (
    (18, "under 18"),
    (30, "18-29"),
    (45, "30-44"),
    (60, "45-59"),
    (75, "60-74"),
)
LAST_AGE_BAND = "75+"


def age_band_sql(age: str) -> str:
    """The SQL expression of the age band of the column ``age`` (see :data:`AGE_BANDS`)."""
    whens = " ".join(f"WHEN {age} < {upper} THEN '{band}'" for upper, band in AGE_BANDS)
    return f"CASE {whens} ELSE '{LAST_AGE_BAND}' END"


def concentration_groups(store: Store, day: dt.date) -> dict[str, npt.NDArray[Any]]:
    """Age band and segment of every customer with a snapshot on ``day``, sorted by relation
    id: the groupings :func:`concentration` compares."""
    t = store.arrow(
        f"SELECT {age_band_sql('age')} AS age_band, coalesce(segment, 'unknown') AS segment "
        "FROM snapshots WHERE snapshot_date = $day ORDER BY relation_id",
        {"day": day},
    )
    return {
        "age band": t["age_band"].to_numpy(zero_copy_only=False),
        "segment": t["segment"].to_numpy(zero_copy_only=False),
    }


def concentration(
    groups: dict[str, npt.NDArray[Any]],
    eligible: npt.NDArray[np.bool_],
    selected: npt.NDArray[np.bool_],
    limits: ChecksConfig,
) -> Check:
    """The selection is not a narrow slice of the base: the largest total-variation distance
    between the selected and the eligible over age band and segment."""
    if selected.sum() == 0:
        return Check("concentration", "pass", 0.0, "", "nobody selected")
    worst, where = 0.0, ""
    for name, labels in groups.items():
        cats = np.unique(labels[eligible])
        e = np.array([(labels[eligible] == c).mean() for c in cats])
        s = np.array([(labels[selected] == c).mean() for c in cats])
        tvd = 0.5 * float(np.abs(e - s).sum())
        if tvd > worst:
            top = cats[int(np.argmax(s - e))]
            worst, where = tvd, f"{name}: {top} is {s.max():.0%} of the selected"
    verdict = _grade(worst, warn=limits.concentration_warn, halt=limits.concentration_halt)
    return Check(
        "concentration",
        verdict,
        worst,
        f"distance ≤ {limits.concentration_warn} (halt > {limits.concentration_halt})",
        f"largest distance between selected and eligible {worst:.2f} ({where})",
    )


def worst_verdict(checks: list[Check]) -> Verdict:
    """The most severe verdict of ``checks`` (``pass`` when there are none)."""
    order: dict[Verdict, int] = {"halt": 0, "warn": 1, "pass": 2}
    return min((c.verdict for c in checks), key=lambda v: order[v], default="pass")
