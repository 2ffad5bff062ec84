"""The columns of an analyst's file for the leakage hunt: what each holds, and the target.

Each column is read with ingest's casts in the file's dialect (``ingest.cast_sql``): a column
whose every value is a number, a yes/no text (``true_values`` / ``false_values``) or a date is
a number for the model fits (a date as days since 1970); any other column is text. Text with at
most ``max_categories`` distinct values is a feature, coded by frequency; text with more (ids,
free text) is left out of the model fits and still searched for time keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from nextbest.config import SourceConfig
from nextbest.errors import SourceFileError, did_you_mean
from nextbest.ingest import ColumnContract, cast_sql
from nextbest.store import Store, quote_identifier

Kind = Literal["number", "text", "empty", "other"]

_NUMBER_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "REAL",
    "DOUBLE",
    "BOOLEAN",
)


@dataclass(frozen=True)
class FileColumn:
    """One column of the file: its name as written, what it holds, its value as SQL (DOUBLE for
    a number, VARCHAR for text) and its number of distinct values."""

    name: str
    kind: Kind
    value: str
    distinct: int
    sql_type: str
    #: text that is mostly numbers: the first value that is not one, and how many are not
    not_numbers: tuple[str, int] | None = None


def find_column(name: str, names: list[str], *, what: str, path: object) -> str:
    """The file's column for ``name`` (exact, else the one matching case-insensitively)."""
    if name in names:
        return name
    by_lower = {n.lower(): n for n in names}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    raise SourceFileError(
        f"{path}: no column '{name}' for {what};{did_you_mean(name, names)} "
        f"Columns: {', '.join(names[:30])}"
    )


def file_columns(
    store: Store, table: str, types: dict[str, str], fmt: str, source: SourceConfig
) -> list[FileColumn]:
    """Every column of ``table`` (the file as read) with its kind, in file order."""
    exprs: dict[str, tuple[str, ...]] = {}
    for name, sql_type in types.items():
        q = quote_identifier(name)
        if fmt == "csv":
            spec = ColumnContract(name, "a column of the hunted file")
            number = cast_sql(spec, "DOUBLE", q, fmt, source)
            yes_no = f"CAST({cast_sql(spec, 'BOOLEAN', q, fmt, source)} AS DOUBLE)"
            date = cast_sql(spec, "DATE", q, fmt, source)
            days = f"CAST(date_diff('day', DATE '1970-01-01', {date}) AS DOUBLE)"
            exprs[name] = (number, yes_no, days)
        else:
            exprs[name] = (_typed_number(q, sql_type.upper()),)
    selects = []
    for name, readings in exprs.items():
        q = quote_identifier(name)
        selects += [f"count({q})", f"count(DISTINCT {q})", *(f"count({r})" for r in readings)]
    counts = list(store.fetchone(f"SELECT {', '.join(selects)} FROM {table}") or [])
    columns = []
    for name, readings in exprs.items():
        n_values, distinct, *n_read = (int(c) for c in counts[: 2 + len(readings)])
        del counts[: 2 + len(readings)]
        q = quote_identifier(name)
        full = [r for r, n in zip(readings, n_read, strict=True) if n == n_values]
        kind: Kind
        if n_values == 0:
            kind, value = "empty", "NULL"
        elif full:
            kind, value = "number", full[0]
        elif fmt == "csv" or types[name].upper() == "VARCHAR":
            kind, value = "text", f"CAST({q} AS VARCHAR)"
        else:
            kind, value = "other", "NULL"
        odd = None
        if kind == "text" and fmt == "csv" and n_read[0] >= n_values / 2:
            odd = (_first_not_read(store, table, q, readings[0]), n_values - n_read[0])
        columns.append(FileColumn(name, kind, value, distinct, types[name], odd))
    return columns


def _first_not_read(store: Store, table: str, q: str, reading: str) -> str:
    return str(
        store.scalar(
            f"SELECT {q} FROM {table} WHERE {q} IS NOT NULL AND {reading} IS NULL "
            "ORDER BY _row LIMIT 1"
        )
    )


def _typed_number(q: str, sql_type: str) -> str:
    """A typed (Parquet) column as DOUBLE, or NULL when it is not a number or a date."""
    if sql_type in _NUMBER_TYPES or sql_type.startswith("DECIMAL"):
        return f"CAST({q} AS DOUBLE)"
    if sql_type == "DATE" or sql_type.startswith("TIMESTAMP"):
        return f"CAST(date_diff('day', DATE '1970-01-01', CAST({q} AS DATE)) AS DOUBLE)"
    return "NULL"


@dataclass(frozen=True)
class Target:
    """The two values of the target column as written, which is the positive class, and how
    many rows hold each."""

    column: str
    positive: str
    negative: str
    n_positive: int
    n_rows: int  # rows with a target value (the rows hunted)
    n_missing: int  # rows without one, left out


def target_text(column: FileColumn) -> str:
    """The target's values as text, as written (a typed number without a trailing ``.0``)."""
    q = quote_identifier(column.name)
    if column.sql_type.upper() in ("FLOAT", "REAL", "DOUBLE") or column.sql_type.startswith(
        "DECIMAL"
    ):
        return f"regexp_replace(CAST({q} AS VARCHAR), '\\.0+$', '')"
    return f"trim(CAST({q} AS VARCHAR))"


def read_target(
    store: Store,
    table: str,
    column: FileColumn,
    *,
    positive: str | None,
    true_values: list[str],
    what: str,
) -> Target:
    """The target's two values and its positive class: ``positive`` if given, else the value
    in ``true_values``; a SourceFileError unless there are exactly two values."""
    text = target_text(column)
    counts = store.fetchall(
        f"SELECT v, count(*) AS n FROM (SELECT {text} AS v FROM {table}) "
        "GROUP BY v ORDER BY v IS NULL, n DESC, v"
    )
    missing = sum(int(n) for v, n in counts if v is None)
    found = {str(v): int(n) for v, n in counts if v is not None}
    values = list(found)
    if len(values) != 2:
        shown = ", ".join(repr(v) for v in values[:5]) + (", …" if len(values) > 5 else "")
        held = (
            "no values"
            if not values
            else f"only {shown}"
            if len(values) == 1
            else f"{len(values)} values ({shown})"
        )
        raise SourceFileError(
            f"{what} has {held}; it must have two, such as yes/no or 1/0 (converted or not)"
        )
    chosen = _positive(what, values, positive, true_values)
    negative = values[1] if chosen == values[0] else values[0]
    return Target(column.name, chosen, negative, found[chosen], sum(found.values()), missing)


def _positive(what: str, values: list[str], positive: str | None, true_values: list[str]) -> str:
    a, b = values
    pair = f"'{a}' and '{b}'"
    if positive is not None:
        matches = [v for v in values if v == positive] or [
            v for v in values if v.lower() == positive.lower()
        ]
        if len(matches) != 1:
            raise SourceFileError(
                f"{what}: --positive {positive!r} is not one of its values {pair}"
            )
        return matches[0]
    yes = {v.lower() for v in true_values}
    in_yes = [v for v in values if v.lower() in yes]
    if len(in_yes) != 1:
        raise SourceFileError(f"{what} has values {pair}; say which is positive with --positive")
    return in_yes[0]


def coded_select(columns: list[FileColumn]) -> tuple[list[str], list[str]]:
    """The inner and outer select lists that give each column its value: a number as itself,
    text as its frequency code (0 for the most frequent value, ties by value; NULL stays NULL)."""
    inner, outer = [], []
    for i, c in enumerate(columns):
        q = quote_identifier(c.name)
        inner.append(f"{c.value} AS {q}")
        if c.kind != "text":
            outer.append(q)
            continue
        n = quote_identifier(f"_n{i}")
        inner.append(f"count(*) OVER (PARTITION BY {c.value}) AS {n}")
        outer.append(
            f"CAST(CASE WHEN {q} IS NOT NULL THEN dense_rank() OVER "
            f"(ORDER BY {q} IS NULL, {n} DESC, {q}) - 1 END AS DOUBLE) AS {q}"
        )
    return inner, outer
