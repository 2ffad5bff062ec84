"""The SQL of the data profile: one statement per table, with the figures of all its columns.

Named steps (:class:`nextbest.store.Steps`):

- ``src``: the table's columns under short aliases (``c0``, ``c1`` …; numbers as DOUBLE) and
  the period of each row;
- ``o``: one row over all rows — counts, distinct counts, min/max, the decile edges and the
  quartiles of each number, the true count of each boolean;
- ``top_<alias>``: the most frequent values of a text column with their counts;
- ``w``: one row per period — counts, the p10/p50/p90 of each number, the bins the PSI
  compares (deciles of all rows, or the top values), the rows beyond Tukey's fences.

The final select returns one row per period with ``o`` and the top values beside it and the
outliers summed over all periods, so that the whole profile of a table is one scan's worth of
grouped rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from nextbest.store import Steps, quote_identifier

#: numbers are plotted and binned; booleans and text are binned; dates are ranged; keys counted
ColumnKind = Literal["numeric", "boolean", "text", "date", "key", "other"]

DECILES = [round(0.1 * i, 1) for i in range(1, 10)]
TOP_K = 8
_NUMERIC = re.compile(r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|FLOAT|DOUBLE|REAL|DECIMAL.*)$")


@dataclass(frozen=True)
class Col:
    """A profiled column: its name and type in the store, its kind, its alias in the SQL."""

    name: str
    sql_type: str
    kind: ColumnKind
    alias: str


def column_kind(name: str, sql_type: str, key: tuple[str, ...]) -> ColumnKind:
    """What the profile does with a column of ``sql_type`` (``key``: the table's key)."""
    base = sql_type.upper()
    if _NUMERIC.match(base):
        # a number in the table's key is an identifier: counted, never plotted
        return "key" if name in key else "numeric"
    if base == "BOOLEAN":
        return "boolean"
    if base == "VARCHAR":
        return "text"
    if base.startswith(("DATE", "TIMESTAMP")):
        return "date"
    return "other"


def _period(time_column: str, weekly_by_date: bool) -> str:
    t = quote_identifier(time_column)
    return t if weekly_by_date else f"CAST(date_trunc('week', {t}) AS DATE)"


def _overall(cols: list[Col]) -> str:
    parts = ["count(*) AS all_n"]
    for c in cols:
        a = c.alias
        parts += [f"count({a}) AS {a}_all_n", f"count(DISTINCT {a}) AS {a}_d"]
        if c.kind in ("numeric", "date", "key"):
            parts += [f"min({a}) AS {a}_min", f"max({a}) AS {a}_max"]
        if c.kind == "numeric":
            parts += [
                f"quantile_cont({a}, {DECILES}) AS {a}_e",
                f"quantile_cont({a}, [0.25, 0.5, 0.75]) AS {a}_f",
            ]
        elif c.kind == "boolean":
            parts.append(f"count(*) FILTER (WHERE {a}) AS {a}_all_true")
    return f"SELECT {', '.join(parts)} FROM src"


def _top(c: Col) -> str:
    return (
        "SELECT list(v ORDER BY n DESC, v) AS k, list(n ORDER BY n DESC, v) AS kn "
        f"FROM (SELECT {c.alias} AS v, count(*) AS n FROM src WHERE {c.alias} IS NOT NULL "
        f"GROUP BY v ORDER BY n DESC, v LIMIT {TOP_K})"
    )


def _weekly(c: Col) -> list[str]:
    a = c.alias
    parts = [f"count({a}) AS {a}_n"]
    if c.kind == "numeric":
        # the bin of a value is the number of decile edges at or below it (searchsorted right,
        # as the drift check bins a week)
        bins = " + ".join(f"CAST({a} >= o.{a}_e[{i}] AS INTEGER)" for i in range(1, 10))
        fence = f"1.5 * (o.{a}_f[3] - o.{a}_f[1])"
        parts += [
            f"quantile_cont({a}, [0.1, 0.5, 0.9]) AS {a}_q",
            f"histogram(CASE WHEN {a} IS NOT NULL THEN {bins} END) AS {a}_h",
            f"count(*) FILTER (WHERE {a} < o.{a}_f[1] - {fence} "
            f"OR {a} > o.{a}_f[3] + {fence}) AS {a}_out",
        ]
    elif c.kind == "boolean":
        parts.append(f"count(*) FILTER (WHERE {a}) AS {a}_true")
    elif c.kind == "text":
        # 0 is every value outside the top
        parts.append(
            f"histogram(CASE WHEN {a} IS NOT NULL "
            f"THEN coalesce(list_position(top_{a}.k, {a}), 0) END) AS {a}_h"
        )
    return parts


def profile_sql(table: str, time_column: str, weekly_by_date: bool, cols: list[Col]) -> str:
    """One row per period of ``table``: the period's figures, and those of all rows beside."""
    selected = "".join(
        f", CAST({quote_identifier(c.name)} AS DOUBLE) AS {c.alias}"
        if c.kind == "numeric"
        else f", {quote_identifier(c.name)} AS {c.alias}"
        for c in cols
    )
    steps = Steps().add(
        "src",
        f"SELECT {_period(time_column, weekly_by_date)} AS period{selected} "
        f"FROM {quote_identifier(table)}",
    )
    steps.add("o", _overall(cols))
    tops = [c for c in cols if c.kind == "text"]
    for c in tops:
        steps.add(f"top_{c.alias}", _top(c))
    joins = ", ".join(["o", *(f"top_{c.alias}" for c in tops)])
    weekly = ", ".join(["count(*) AS n", *(p for c in cols for p in _weekly(c))])
    steps.add("w", f"SELECT period, {weekly} FROM src, {joins} GROUP BY period")
    beside = "".join(
        f", top_{c.alias}.k AS {c.alias}_k, top_{c.alias}.kn AS {c.alias}_kn" for c in tops
    ) + "".join(
        f", sum(w.{c.alias}_out) OVER () AS {c.alias}_all_out" for c in cols if c.kind == "numeric"
    )
    return steps.render(f"SELECT w.*, o.*{beside} FROM w, {joins} ORDER BY period")


def missing_weeks_sql(table: str, time_column: str, weekly_by_date: bool) -> str:
    """The periods of a 7-day grid from the first period to the last whose week (Monday to
    Sunday) holds no row."""
    return (
        Steps()
        .add(
            "p",
            f"SELECT DISTINCT {_period(time_column, weekly_by_date)} AS period "
            f"FROM {quote_identifier(table)}",
        )
        .add(
            "grid",
            "SELECT CAST(unnest(generate_series(min(period), max(period), INTERVAL 7 DAY)) "
            "AS DATE) AS expected FROM p",
        )
        .render(
            "SELECT expected FROM grid WHERE date_trunc('week', expected) NOT IN "
            "(SELECT date_trunc('week', period) FROM p) ORDER BY expected"
        )
    )
