"""The data profile: what is loaded, column by column and week by week (the EDA step).

One grouped query per table (``pipeline/_profile_sql.py``) computes every figure of every
column for each period, with the figures of all rows beside them; Python only turns those few
aggregated rows (one per period) into typed results, and computes the PSI of each period from
its binned shares with the drift check's own :func:`nextbest.checks.psi`.

Definitions
-----------
- **period**: a snapshot table's own snapshot date (one per week); the Monday of the ISO week
  for the other tables (daily prices, conversion and e-mail event dates).
- **missing share**: rows whose value is NULL over all rows, of the table or of the period.
- **outliers**: values beyond Tukey's fences, 1.5 × IQR below the first or above the third
  quartile of all loaded rows. Values beyond a contract's min/max never load: they are in
  quarantine, whose reasons the profile lists.
- **drift**: the PSI of each period against the first period, and against the previous one,
  over the same bins: the deciles of all loaded rows plus a missing bin for numbers (as the
  drift check bins the training weeks); true / false / missing for booleans; the eight most
  frequent values, "other" and missing for text.
- **missing weeks**: the weeks between the first and the last period that hold no row.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any, Literal

from nextbest.checks import psi
from nextbest.errors import NotFoundError, did_you_mean
from nextbest.ingest import CONTRACTS, Contract
from nextbest.pipeline._profile_sql import (
    DECILES,
    Col,
    ColumnKind,
    column_kind,
    missing_weeks_sql,
    profile_sql,
)
from nextbest.store import Store, quote_identifier

__all__ = [
    "ColumnKind",
    "ColumnProfile",
    "DataProfile",
    "Outliers",
    "QuarantineReason",
    "TableProfile",
    "TopValue",
    "WeekFigures",
    "profile_store",
]

#: the tables the profile reads, in the order the page shows them (audit data never)
PROFILED_SOURCES: tuple[str, ...] = ("snapshots", "market", "conversions", "email_events")

#: tables that hold one period per snapshot date; the others are grouped by ISO week
_WEEKLY_BY_DATE = frozenset({"snapshots"})


@dataclass(frozen=True)
class WeekFigures:
    """One column in one period."""

    week: dt.date
    rows: int
    missing: float  # share of the period's rows
    p10: float | None = None  # numeric columns
    p50: float | None = None
    p90: float | None = None
    true_share: float | None = None  # boolean columns, of all rows
    psi_first: float | None = None  # against the first period (None for dates and keys)
    psi_previous: float | None = None  # against the period before (None for the first)


@dataclass(frozen=True)
class TopValue:
    """A frequent value of a text or boolean column (``"(other)"`` gathers the rest)."""

    value: str
    rows: int
    share: float  # of all rows, missing included


@dataclass(frozen=True)
class Outliers:
    """Values beyond Tukey's fences (1.5 × IQR outside the quartiles of all rows)."""

    low: float
    high: float
    rows: int
    share: float  # of the rows with a value


@dataclass(frozen=True)
class ColumnProfile:
    """One column of a loaded table, over all its rows and per period."""

    name: str
    sql_type: str
    kind: ColumnKind
    missing: float
    distinct: int
    minimum: float | dt.date | None
    median: float | None
    maximum: float | dt.date | None
    top: tuple[TopValue, ...]
    outliers: Outliers | None
    weeks: tuple[WeekFigures, ...]

    @property
    def worst_week(self) -> WeekFigures | None:
        """The period with the highest missing share (the first of ties)."""
        return max(self.weeks, key=lambda w: w.missing, default=None)

    @property
    def max_drift(self) -> WeekFigures | None:
        """The period that drifted most from the first, or None for a column not binned."""
        binned = [w for w in self.weeks if w.psi_first is not None]
        return max(binned, key=lambda w: w.psi_first or 0.0, default=None)


@dataclass(frozen=True)
class TableProfile:
    """A loaded table: its size, its periods, the weeks missing, and each column."""

    table: str
    time_column: str
    period: Literal["snapshot date", "week"]
    rows: int
    first: dt.date
    latest: dt.date
    missing_weeks: tuple[dt.date, ...]
    quarantined: int
    columns: tuple[ColumnProfile, ...]

    @property
    def weeks(self) -> tuple[dt.date, ...]:
        return tuple(w.week for w in self.columns[0].weeks) if self.columns else ()

    def column(self, name: str) -> ColumnProfile:
        for c in self.columns:
            if c.name == name:
                return c
        names = [c.name for c in self.columns]
        raise NotFoundError(
            f"{self.table} has no profiled column '{name}'.{did_you_mean(name, names)} "
            f"Columns: {', '.join(names)}"
        )


@dataclass(frozen=True)
class QuarantineReason:
    """Quarantined rows of current batches that failed one rule of one column."""

    table: str
    column: str
    rule: str
    rows: int
    files: int
    example: str | None
    example_file: str
    example_row: int


@dataclass(frozen=True)
class DataProfile:
    """The profile of every loaded table (snapshots first) and the quarantine reasons."""

    tables: tuple[TableProfile, ...]
    quarantine: tuple[QuarantineReason, ...]
    seconds: float

    def table(self, name: str) -> TableProfile:
        for t in self.tables:
            if t.table == name:
                return t
        names = [t.table for t in self.tables]
        raise NotFoundError(
            f"no profiled table '{name}'.{did_you_mean(name, names)} Tables: {', '.join(names)}"
        )

    def most_missing(self, n: int = 5) -> list[tuple[TableProfile, ColumnProfile]]:
        """The ``n`` columns with the highest missing share overall (columns with none left
        out)."""
        cols = [(t, c) for t in self.tables for c in t.columns if c.missing > 0]
        return sorted(cols, key=lambda tc: -tc[1].missing)[:n]

    def most_drift(self, n: int = 5) -> list[tuple[TableProfile, ColumnProfile, WeekFigures]]:
        """The ``n`` columns whose worst period drifted most from the first period."""
        cols = [(t, c, c.max_drift) for t in self.tables for c in t.columns]
        found = [(t, c, w) for t, c, w in cols if w is not None and (w.psi_first or 0) > 0]
        return sorted(found, key=lambda tcw: -(tcw[2].psi_first or 0.0))[:n]


# -- from the aggregated rows to the typed profile -------------------------------------------------
def _shares(c: Col, row: dict[str, Any]) -> list[float] | None:
    """The bins the PSI compares, as shares of the period's rows (missing last)."""
    n, a = row["n"], c.alias
    if not n or c.kind not in ("numeric", "boolean", "text"):
        return None
    missing = (n - row[f"{a}_n"]) / n
    if c.kind == "boolean":
        true = row[f"{a}_true"]
        return [true / n, (row[f"{a}_n"] - true) / n, missing]
    counts = dict(row[f"{a}_h"] or [])
    n_bins = len(DECILES) + 1 if c.kind == "numeric" else len(row[f"{a}_k"] or []) + 1
    return [counts.get(i, 0) / n for i in range(n_bins)] + [missing]


def _weeks(c: Col, rows: list[dict[str, Any]]) -> tuple[WeekFigures, ...]:
    a = c.alias
    first: list[float] | None = None
    previous: list[float] | None = None
    weeks = []
    for row in rows:
        shares = _shares(c, row)
        if first is None:
            first = shares
        q = row.get(f"{a}_q") or [None, None, None]
        weeks.append(
            WeekFigures(
                week=row["period"],
                rows=row["n"],
                missing=(row["n"] - row[f"{a}_n"]) / row["n"],
                p10=q[0],
                p50=q[1],
                p90=q[2],
                true_share=row[f"{a}_true"] / row["n"] if c.kind == "boolean" else None,
                psi_first=psi(first, shares) if first and shares else None,
                psi_previous=psi(previous, shares) if previous and shares else None,
            )
        )
        previous = shares
    return tuple(weeks)


def _top(c: Col, row: dict[str, Any]) -> tuple[TopValue, ...]:
    n, a = row["all_n"], c.alias
    if c.kind == "boolean":
        true = row[f"{a}_all_true"]
        pairs = [("true", true), ("false", row[f"{a}_all_n"] - true)]
    elif c.kind == "text":
        pairs = list(zip(row[f"{a}_k"] or [], row[f"{a}_kn"] or [], strict=True))
        other = row[f"{a}_all_n"] - sum(k for _, k in pairs)
        if other:
            pairs.append(("(other)", other))
    else:
        return ()
    return tuple(TopValue(v, k, k / n) for v, k in pairs if k)


def _outliers(c: Col, row: dict[str, Any]) -> Outliers | None:
    a = c.alias
    if c.kind != "numeric" or not row[f"{a}_all_n"]:
        return None
    q1, _, q3 = row[f"{a}_f"]
    fence = 1.5 * (q3 - q1)
    rows = int(row[f"{a}_all_out"])
    return Outliers(q1 - fence, q3 + fence, rows, rows / row[f"{a}_all_n"])


def _column(c: Col, rows: list[dict[str, Any]]) -> ColumnProfile:
    """One column from the table's rows (one per period, each with the overall figures)."""
    a, overall = c.alias, rows[0]
    n = overall["all_n"]
    quartiles = overall.get(f"{a}_f")
    return ColumnProfile(
        name=c.name,
        sql_type=c.sql_type,
        kind=c.kind,
        missing=(n - overall[f"{a}_all_n"]) / n,
        distinct=overall[f"{a}_d"],
        minimum=overall.get(f"{a}_min"),
        median=quartiles[1] if quartiles else None,
        maximum=overall.get(f"{a}_max"),
        top=_top(c, overall),
        outliers=_outliers(c, overall),
        weeks=_weeks(c, rows),
    )


def _profile_table(store: Store, contract: Contract) -> TableProfile | None:
    table, time_column = contract.table, contract.partition
    if time_column is None or not store.scalar(f"SELECT count(*) FROM {quote_identifier(table)}"):
        return None
    weekly_by_date = table in _WEEKLY_BY_DATE
    cols = [
        Col(name, sql_type, column_kind(name, sql_type, contract.key), f"c{i}")
        for i, (name, sql_type) in enumerate(
            store.columns(f"SELECT * FROM {quote_identifier(table)}")
        )
        if name not in (time_column, "batch_id")
    ]
    rows = store.arrow(profile_sql(table, time_column, weekly_by_date, cols)).to_pylist()
    missing = store.fetchall(missing_weeks_sql(table, time_column, weekly_by_date))
    quarantined = store.scalar(
        "SELECT coalesce(sum(rows_quarantined), 0) FROM ingest_batches "
        "WHERE status = 'loaded' AND table_name = ?",
        [table],
    )
    return TableProfile(
        table=table,
        time_column=time_column,
        period="snapshot date" if weekly_by_date else "week",
        rows=rows[0]["all_n"],
        first=rows[0]["period"],
        latest=rows[-1]["period"],
        missing_weeks=tuple(r[0] for r in missing),
        quarantined=int(quarantined),
        columns=tuple(_column(c, rows) for c in cols),
    )


def _quarantine(store: Store) -> tuple[QuarantineReason, ...]:
    rows = store.fetchall(
        """
        SELECT q.table_name, q.column_name, q.rule, count(*) AS n,
               count(DISTINCT q.source_file),
               arg_min(q.value, (q.source_file, q.source_row)),
               min(q.source_file),
               arg_min(q.source_row, (q.source_file, q.source_row))
        FROM quarantine q JOIN ingest_batches b USING (batch_id)
        WHERE b.status = 'loaded'
        GROUP BY ALL ORDER BY q.table_name, n DESC, q.column_name, q.rule
        """
    )
    return tuple(QuarantineReason(*r) for r in rows)


def _contracts(tables: list[str] | None) -> list[Contract]:
    """The contracts of the tables asked for (by table or source name), in page order."""
    contracts = {s: CONTRACTS[s] for s in PROFILED_SOURCES}
    if not tables:
        return list(contracts.values())
    chosen = []
    names = [*contracts, *(c.table for c in contracts.values())]
    for name in tables:
        if name in ("audit", CONTRACTS["audit"].table):
            raise NotFoundError(
                "the audit table is never profiled: it holds sensitive attributes kept out "
                "of reach of everything but the fairness queries"
            )
        found = [c for s, c in contracts.items() if name in (s, c.table)]
        if not found:
            raise NotFoundError(
                f"no table '{name}' to profile.{did_you_mean(name, names)} "
                f"Tables are: {', '.join(c.table for c in contracts.values())}"
            )
        chosen += [c for c in found if c not in chosen]
    return [c for c in contracts.values() if c in chosen]


def profile_store(store: Store, *, tables: list[str] | None = None) -> DataProfile:
    """Profile the loaded tables (default: all that hold rows, snapshots first).

    Example
    -------
    >>> with Store(":memory:") as store:
    ...     store.execute("INSERT INTO market_prices VALUES ('f', DATE '2025-01-06', 1.5, 1)")
    ...     store.execute("INSERT INTO market_prices VALUES ('f', DATE '2025-01-20', 2.5, 1)")
    ...     market = profile_store(store).table("market_prices")
    >>> market.missing_weeks
    (datetime.date(2025, 1, 13),)
    """
    started = time.perf_counter()
    contracts = _contracts(tables)
    profiled = []
    # DuckDB draws a progress bar on stdout for a query longer than two seconds
    store.execute("SET enable_progress_bar = false")
    try:
        for contract in contracts:
            table = _profile_table(store, contract)
            if table is None and tables:
                raise NotFoundError(
                    f"{contract.table} holds no rows; load it with 'nextbest ingest' first"
                )
            if table is not None:
                profiled.append(table)
    finally:
        store.execute("RESET enable_progress_bar")
    if not profiled:
        raise NotFoundError("no data is loaded; run 'nextbest ingest' first")
    keep = {t.table for t in profiled}
    reasons = tuple(r for r in _quarantine(store) if r.table in keep)
    return DataProfile(tuple(profiled), reasons, time.perf_counter() - started)
