"""The SQL of the row rules of a data contract: casts, raw values and one violation per rule.

The contract's bounds are parameters of the query (``$min_<i>``, ``$max_<i>`` for the i-th
column), never written into its text; names and messages are quoted literals.
"""

from __future__ import annotations

import re
from typing import Any

from nextbest.config import SourceConfig
from nextbest.ingest._contracts import ColumnContract, Contract
from nextbest.store import Query, quote_identifier, quote_literal

_NUMERIC = ("BIGINT", "INTEGER", "DOUBLE")


def cast_sql(col: ColumnContract, sql_type: str, src: str, fmt: str, source: SourceConfig) -> str:
    """The file's value ``src`` as ``sql_type``, NULL when it does not convert.

    CSV text is read in the source's dialect: ``date_format`` for dates, ``thousands`` and
    ``decimal`` separators for numbers (``1.234,56`` with ``thousands = "."`` and
    ``decimal = ","``), ``true_values`` / ``false_values`` for yes/no columns. A text column
    with a ``recode`` table has its listed texts replaced (in any format).
    """
    if sql_type == "VARCHAR" and col.name in source.recode:
        cases = " ".join(
            f"WHEN {quote_literal(theirs)} THEN {quote_literal(ours)}"
            for theirs, ours in source.recode[col.name].items()
        )
        return f"CASE CAST({src} AS VARCHAR) {cases} ELSE CAST({src} AS VARCHAR) END"
    if fmt != "csv":
        return f"TRY_CAST({src} AS {sql_type})"
    text = f"trim(CAST({src} AS VARCHAR))"
    if sql_type == "DATE" and source.date_format:
        pattern = quote_literal(source.date_format)
        return f"TRY_CAST(TRY_STRPTIME({text}, {pattern}) AS DATE)"
    if sql_type in _NUMERIC:
        if not source.thousands and source.decimal == ".":
            return f"TRY_CAST({text} AS {sql_type})"
        # only a number written in the dialect converts: '1.234,56' but not '12.5' (a decimal
        # point where ',' is the decimal sign) or '1.23.4' (separators not grouping by three)
        valid = quote_literal(number_pattern(source.decimal, source.thousands))
        typed = text
        if source.thousands:
            typed = f"replace({typed}, {quote_literal(source.thousands)}, '')"
        if source.decimal != ".":
            typed = f"replace({typed}, {quote_literal(source.decimal)}, '.')"
        return (
            f"CASE WHEN regexp_full_match({text}, {valid}) THEN TRY_CAST({typed} AS {sql_type}) END"
        )
    if sql_type == "BOOLEAN":
        yes = ", ".join(quote_literal(v.lower()) for v in source.true_values)
        no = ", ".join(quote_literal(v.lower()) for v in source.false_values)
        return (
            f"CASE WHEN lower({text}) IN ({yes or 'NULL'}) THEN TRUE "
            f"WHEN lower({text}) IN ({no or 'NULL'}) THEN FALSE END"
        )
    return f"TRY_CAST({src} AS {sql_type})"


def number_pattern(decimal: str, thousands: str) -> str:
    """The regular expression of a number in a CSV dialect: an optional sign, digits — grouped
    by three with ``thousands`` when it is set, or not grouped at all — and an optional
    ``decimal`` sign with digits.

    >>> import re
    >>> [bool(re.fullmatch(number_pattern(",", "."), t))
    ...  for t in ("1.234,56", "-12,5", "1234", "12.5", "1.23.4", ",5", "1.234.567")]
    [True, True, True, False, False, False, True]
    """
    whole = r"\d+"
    if thousands:
        t = re.escape(thousands)
        whole = rf"(?:\d{{1,3}}(?:{t}\d{{3}})+|\d+)"
    return rf"[+-]?{whole}(?:{re.escape(decimal)}\d+)?"


def raw_sql(col: str, materialised: set[str]) -> str:
    """The value as read from the file, as text (for messages and the quarantine record)."""
    return (
        quote_identifier(col + "__raw")
        if col in materialised
        else f"CAST({quote_identifier(col)} AS VARCHAR)"
    )


def _range_rule(col: ColumnContract, i: int, typed: str, raw: str, params: dict[str, Any]) -> str:
    """The range rule of the i-th column, its bounds added to ``params``."""
    lo = "-inf" if col.min is None else f"{col.min:g}"
    hi = "inf" if col.max is None else f"{col.max:g}"
    conds = []
    if col.min is not None:
        params[f"min_{i}"] = col.min
        conds.append(f"{typed} < $min_{i}")
    if col.max is not None:
        params[f"max_{i}"] = col.max
        conds.append(f"{typed} > $max_{i}")
    return (
        f"CASE WHEN {' OR '.join(conds)} THEN "
        f"{_violation(col.name, f'range: outside {lo}..{hi}', raw)} END"
    )


def _violation(column: str, rule: str, value: str) -> str:
    return f"{{'c': {quote_literal(column)}, 'r': {quote_literal(rule)}, 'v': {value}}}"


def row_rules(contract: Contract, present: set[str], materialised: set[str]) -> Query:
    """The list of each row's violations (a struct per failed rule, NULL for a passed one) as
    one SQL list expression, with the contract's bounds as its parameters."""
    rules: list[str] = []
    params: dict[str, Any] = {}
    for i, col in enumerate(contract.columns):
        if col.name not in present:
            if not col.nullable and col.default is None:
                rules.append(_violation(col.name, "missing column, not nullable", "NULL"))
            continue
        typed, raw = quote_identifier(col.name), raw_sql(col.name, materialised)
        sql_type = contract.sql_type(col.name)
        if col.name in materialised:
            rules.append(
                f"CASE WHEN {raw} IS NOT NULL AND {typed} IS NULL THEN "
                f"{_violation(col.name, f'type: not a valid {sql_type}', raw)} END"
            )
        if not col.nullable:
            null_test = f"{raw} IS NULL" if col.name in materialised else f"{typed} IS NULL"
            rules.append(
                f"CASE WHEN {null_test} THEN {_violation(col.name, 'not null', 'NULL')} END"
            )
        if col.min is not None or col.max is not None:
            rules.append(_range_rule(col, i, typed, raw, params))
        if col.name == contract.partition:
            # a week that has not happened yet is the export's clock or a typo, never data
            # ([contracts] future_days allows a horizon)
            params["future_days"] = contract.future_days
            rule = "future: after today"
            if contract.future_days:
                rule = f"future: more than {contract.future_days} days after today"
            rules.append(
                f"CASE WHEN {typed} > current_date + CAST($future_days AS INTEGER) THEN "
                f"{_violation(col.name, rule, raw)} END"
            )
        if col.allowed is not None:
            allowed = ", ".join(quote_literal(a) for a in col.allowed)
            rules.append(
                f"CASE WHEN {typed} NOT IN ({allowed}) THEN "
                f"{_violation(col.name, 'allowed: not one of ' + '/'.join(col.allowed), raw)} END"
            )
    return Query("[" + ", ".join(rules) + "]", params)
