"""The time column of an analyst's file as an ordered period key (a BIGINT), in SQL.

A period is read as the first of these that reads every value of the column:

* a date — typed in Parquet; in a CSV, in the dialect's ``date_format`` (ISO by default),
  exactly as ingest casts it — keyed ``yyyymmdd``; a Parquet timestamp is keyed by its epoch
  seconds, a text timestamp reads as its day;
* a month name plus year, Dutch or English, full or short: ``januari 2025``, ``Jan 2025``,
  ``March 2024``, ``mrt. 2024``, ``okt-2024`` — keyed ``yyyymm``;
* an ISO week: ``2025-W05``, ``2025W5`` — keyed ``yyyyww``;
* an integer period: ``202501``, or ``1`` … ``n`` — keyed by itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from nextbest.config import SourceConfig
from nextbest.errors import SourceFileError
from nextbest.ingest import ColumnContract, cast_sql
from nextbest.store import Store, quote_literal

#: Month names and their usual short forms, Dutch and English, lower case.
MONTH_NAMES: dict[str, int] = {
    **{
        name: i + 1
        for i, names in enumerate(
            [
                ("januari", "january", "jan"),
                ("februari", "february", "feb"),
                ("maart", "march", "mrt", "mar", "maa"),
                ("april", "apr"),
                ("mei", "may"),
                ("juni", "june", "jun"),
                ("juli", "july", "jul"),
                ("augustus", "august", "aug"),
                ("september", "sep", "sept"),
                ("oktober", "october", "okt", "oct"),
                ("november", "nov"),
                ("december", "dec"),
            ]
        )
        for name in names
    }
}

_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
_MONTH_PATTERN = r"^([a-z]+)\.?[\s/-]*([0-9]{4})$"
_WEEK_PATTERN = r"^([0-9]{4})-?w([0-9]{1,2})$"


@dataclass(frozen=True)
class PeriodReading:
    """One way of reading the time column: what it is called and its key as SQL."""

    reading: str  # "date", "month name and year", …
    key: str  # BIGINT expression over the raw column; NULL where the value does not read


def period_readings(
    column: str, sql_type: str, fmt: str, source: SourceConfig
) -> list[PeriodReading]:
    """The readings to try, in order, for a column of this SQL type as read from the file."""
    t = sql_type.upper()
    if t == "DATE":
        return [PeriodReading("date", _date_key(column))]
    if t.startswith("TIMESTAMP"):
        return [PeriodReading("timestamp", f"CAST(epoch({column}) AS BIGINT)")]
    if t in _INTEGER_TYPES or t == "HUGEINT" or t == "UBIGINT":
        return [PeriodReading("integer period", f"CAST({column} AS BIGINT)")]
    if t in ("DOUBLE", "FLOAT", "REAL") or t.startswith("DECIMAL"):
        whole = f"CASE WHEN {column} = round({column}) THEN CAST({column} AS BIGINT) END"
        return [PeriodReading("integer period", whole)]
    spec = ColumnContract(column, "the time column of the hunt")
    date = cast_sql(spec, "DATE", column, fmt, source)
    text = f"lower(trim(CAST({column} AS VARCHAR)))"
    # a text timestamp reads as its date: the period is the day
    return [
        PeriodReading("date", _date_key(date)),
        PeriodReading("month name and year", _month_key(text)),
        PeriodReading("ISO week", _week_key(text)),
        PeriodReading("integer period", f"TRY_CAST({text} AS BIGINT)"),
    ]


def _date_key(date: str) -> str:
    return f"(year({date}) * 10000 + month({date}) * 100 + day({date}))"


def _month_key(text: str) -> str:
    pattern = quote_literal(_MONTH_PATTERN)
    name = f"regexp_extract({text}, {pattern}, 1)"
    year = f"TRY_CAST(regexp_extract({text}, {pattern}, 2) AS BIGINT)"
    cases = " ".join(f"WHEN {quote_literal(n)} THEN {m}" for n, m in MONTH_NAMES.items())
    return f"({year} * 100 + CASE {name} {cases} END)"


def _week_key(text: str) -> str:
    pattern = quote_literal(_WEEK_PATTERN)
    year = f"TRY_CAST(regexp_extract({text}, {pattern}, 1) AS BIGINT)"
    week = f"TRY_CAST(regexp_extract({text}, {pattern}, 2) AS BIGINT)"
    return f"CASE WHEN {week} BETWEEN 1 AND 53 THEN {year} * 100 + {week} END"


@dataclass(frozen=True)
class Periods:
    """How the time column was read: its reading, key SQL, count and first and last value."""

    reading: str
    key: str
    n_periods: int
    first: str  # the earliest period, as written in the file
    last: str


def read_periods(
    store: Store, table: str, column: str, readings: list[PeriodReading], *, what: str
) -> Periods:
    """The first reading that reads every row of ``table``; else a SourceFileError naming a
    value that does not read, its data row and how many rows do not."""
    counts = store.fetchone(
        f"SELECT count(*), count({column}), "
        + ", ".join(f"count({r.key})" for r in readings)
        + f" FROM {table}"
    )
    assert counts is not None
    n_rows, n_values, *n_read = (int(c) for c in counts)
    if n_values < n_rows:
        row = store.scalar(f"SELECT min(_row) FROM {table} WHERE {column} IS NULL")
        raise SourceFileError(
            f"{what} is empty in {n_rows - n_values:,} of {n_rows:,} rows (first: data row "
            f"{row}); the hunt needs the period of every row"
        )
    best = max(range(len(readings)), key=lambda i: (n_read[i], -i))
    reading = readings[best]
    if n_read[best] < n_rows:
        example = store.fetchone(
            f"SELECT CAST({column} AS VARCHAR), _row FROM {table} "
            f"WHERE {reading.key} IS NULL ORDER BY _row LIMIT 1"
        )
        assert example is not None
        as_what = f"a {reading.reading}" if n_read[best] else "a period"
        raise SourceFileError(
            f"{what} holds {example[0]!r} (data row {example[1]}), which is not {as_what}; "
            f"{n_rows - n_read[best]:,} of {n_rows:,} rows do not read. A period is a date "
            "(ISO, or the dialect's date_format), a month name and year ('jan 2024', "
            "'maart 2024'), an ISO week ('2024-W05') or an integer period (202401, or 1, 2, …)"
        )
    summary = store.fetchone(
        f"SELECT count(DISTINCT k), arg_min(v, k), arg_max(v, k) FROM (SELECT {reading.key} AS k, "
        f"CAST({column} AS VARCHAR) AS v FROM {table})"
    )
    assert summary is not None
    return Periods(reading.reading, reading.key, int(summary[0]), str(summary[1]), str(summary[2]))
