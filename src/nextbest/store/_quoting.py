"""Quoting for the few SQL texts that cannot take parameters (identifiers, ``ATTACH`` paths).

Values that can be parameters are parameters; these two are for names and for the statements
DuckDB does not parameterise (``ATTACH``, ``COPY``, the file argument of a table function).
"""

from __future__ import annotations

__all__ = ["quote_identifier", "quote_literal"]


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (inner double quotes doubled).

    Example
    -------
    >>> print(quote_identifier('a"b'))
    "a""b"
    """
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """``text`` as a single-quoted SQL string literal (inner single quotes doubled).

    Example
    -------
    >>> print(quote_literal("it's"))
    'it''s'
    """
    return "'" + text.replace("'", "''") + "'"
