"""The SQL of the row rules of a data contract: casts, raw values and one violation per rule."""

from __future__ import annotations

from nextbest.config import SourceConfig
from nextbest.ingest._contracts import ColumnContract, Contract
from nextbest.store import quote_identifier, quote_literal


def cast_sql(col: ColumnContract, sql_type: str, src: str, fmt: str, source: SourceConfig) -> str:
    """The file's value ``src`` as ``sql_type``, NULL when it does not convert."""
    if sql_type == "DATE" and fmt == "csv" and source.date_format:
        pattern = quote_literal(source.date_format)
        return f"TRY_CAST(TRY_STRPTIME(CAST({src} AS VARCHAR), {pattern}) AS DATE)"
    return f"TRY_CAST({src} AS {sql_type})"


def raw_sql(col: str, materialised: set[str]) -> str:
    """The value as read from the file, as text (for messages and the quarantine record)."""
    return (
        quote_identifier(col + "__raw")
        if col in materialised
        else f"CAST({quote_identifier(col)} AS VARCHAR)"
    )


def row_rules(contract: Contract, present: set[str], materialised: set[str]) -> list[str]:
    """SQL expressions yielding a violation struct or NULL, one per rule."""
    rules: list[str] = []

    def violation(column: str, rule: str, value: str) -> str:
        return f"{{'c': {quote_literal(column)}, 'r': {quote_literal(rule)}, 'v': {value}}}"

    for col in contract.columns:
        if col.name not in present:
            if not col.nullable:
                rules.append(violation(col.name, "missing column, not nullable", "NULL"))
            continue
        typed, raw = quote_identifier(col.name), raw_sql(col.name, materialised)
        sql_type = contract.sql_type(col.name)
        if col.name in materialised:
            rules.append(
                f"CASE WHEN {raw} IS NOT NULL AND {typed} IS NULL THEN "
                f"{violation(col.name, f'type: not a valid {sql_type}', raw)} END"
            )
        if not col.nullable:
            null_test = f"{raw} IS NULL" if col.name in materialised else f"{typed} IS NULL"
            rules.append(
                f"CASE WHEN {null_test} THEN {violation(col.name, 'not null', 'NULL')} END"
            )
        if col.min is not None or col.max is not None:
            lo = "-inf" if col.min is None else f"{col.min:g}"
            hi = "inf" if col.max is None else f"{col.max:g}"
            conds = []
            if col.min is not None:
                conds.append(f"{typed} < {col.min!r}")
            if col.max is not None:
                conds.append(f"{typed} > {col.max!r}")
            rules.append(
                f"CASE WHEN {' OR '.join(conds)} THEN "
                f"{violation(col.name, f'range: outside {lo}..{hi}', raw)} END"
            )
        if col.allowed is not None:
            allowed = ", ".join(quote_literal(a) for a in col.allowed)
            rules.append(
                f"CASE WHEN {typed} NOT IN ({allowed}) THEN "
                f"{violation(col.name, 'allowed: not one of ' + '/'.join(col.allowed), raw)} END"
            )
    return rules
