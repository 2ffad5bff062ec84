"""The grammar config SQL is held to: one scalar expression over documented columns.

Custom features (``[[features.custom]]``) and eligibility rules (``[[actions.rules]]``) are
written in SQL. That SQL is parsed with SQLGlot (DuckDB dialect), never pattern-matched, and
accepted only when the whole text is **one scalar expression over one customer's row**: column
references, literals, arithmetic, comparisons, boolean logic, ``CASE``/``IF``, ``CAST`` to a
simple type and a short list of scalar functions (:data:`SCALAR_FUNCTIONS`). Every other node
— a subquery, a table, ``*``/``COLUMNS(…)``, struct or list access, a lambda, a window or
aggregate function, a function that reads files, settings or the environment, a parameter, a
comment — is refused with a message naming it.

The query builders embed the SQL *regenerated from the parsed tree* (comments dropped, every
column quoted and qualified with the row's table), never the text from the config, so what runs
is exactly what was checked.

Example
-------
>>> scalar_sql("CASE WHEN n_accounts >= 3 THEN 1 ELSE 0 END", columns=RULE_COLUMNS,
...            what="rule 'x'", table="cur")
'CASE WHEN "cur"."n_accounts" >= 3 THEN 1 ELSE 0 END'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from nextbest.errors import ConfigError, did_you_mean

__all__ = [
    "FEATURE_COLUMNS",
    "RULE_COLUMNS",
    "SCALAR_FUNCTIONS",
    "SNAPSHOT_COLUMNS",
    "scalar_sql",
    "sensitive_message",
]

#: The columns of the snapshots contract (docs/data.md), in file order.
SNAPSHOT_COLUMNS: tuple[str, ...] = (
    "relation_id",
    "snapshot_date",
    "age",
    "segment",
    "has_savings",
    "has_payment",
    "n_accounts",
    "total_balance",
    "app_installed",
    "ib_logins_4w",
    "optin_general",
    "optin_investing",
    "customer_since",
    "is_investor",
)

# The relation number is an identifier, not a property of the customer: a feature or rule over
# it can only single people out (or memorise them), so neither may read it.
_IDENTIFIERS = frozenset({"relation_id"})

#: Columns an eligibility rule may read: the customer's snapshot at D.
RULE_COLUMNS: tuple[str, ...] = tuple(c for c in SNAPSHOT_COLUMNS if c not in _IDENTIFIERS)

#: Columns a custom feature may read: the snapshot at D plus the point-in-time history and
#: market columns of the feature base (docs/features.md).
FEATURE_COLUMNS: tuple[str, ...] = (
    *RULE_COLUMNS,
    "balance_4w",
    "balance_8w",
    "price_0",
    "price_1w",
    "price_4w",
)

#: The scalar functions config SQL may call, by their SQL name. None reads a table, a file, a
#: setting or the environment, and each sees only its own arguments.
SCALAR_FUNCTIONS: dict[str, type[exp.Expression]] = {
    "abs": exp.Abs,
    "ceil": exp.Ceil,
    "coalesce": exp.Coalesce,
    "date_diff": exp.DateDiff,
    "exp": exp.Exp,
    "floor": exp.Floor,
    "greatest": exp.Greatest,
    "if": exp.If,
    "least": exp.Least,
    "ln": exp.Ln,
    "log": exp.Log,
    "nullif": exp.Nullif,
    "power": exp.Pow,
    "round": exp.Round,
    "sign": exp.Sign,
    "sqrt": exp.Sqrt,
}

_OPERATORS: tuple[type[exp.Expression], ...] = (
    exp.Paren,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.IntDiv,
    exp.Mod,
    exp.Neg,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.NullSafeEQ,
    exp.NullSafeNEQ,
    exp.Is,
    exp.Between,
    exp.In,
    exp.Like,
    exp.ILike,
    exp.And,
    exp.Or,
    exp.Not,
    exp.Case,
    exp.Cast,
    exp.TryCast,
    exp.Interval,
)
_LITERALS: tuple[type[exp.Expression], ...] = (exp.Literal, exp.Boolean, exp.Null)
_ALLOWED: tuple[type[exp.Expression], ...] = (
    *_OPERATORS,
    *_LITERALS,
    *SCALAR_FUNCTIONS.values(),
)

#: types a CAST may produce
_CAST_TYPES = frozenset(
    {
        exp.DataType.Type.TINYINT,
        exp.DataType.Type.SMALLINT,
        exp.DataType.Type.INT,
        exp.DataType.Type.BIGINT,
        exp.DataType.Type.FLOAT,
        exp.DataType.Type.DOUBLE,
        exp.DataType.Type.DECIMAL,
        exp.DataType.Type.BOOLEAN,
        exp.DataType.Type.TEXT,
        exp.DataType.Type.VARCHAR,
        exp.DataType.Type.DATE,
    }
)

_GRAMMAR = (
    "write one scalar expression over the columns of the customer's row: columns, literals, "
    "arithmetic, comparisons, AND/OR/NOT, CASE, CAST to a simple type and the functions "
    f"{', '.join(SCALAR_FUNCTIONS)} (see docs/configuration.md)"
)


def sensitive_message(name: str, where: str) -> str:
    """The message for a sensitive attribute named in ``where``."""
    return (
        f"'{name}' in {where} is a sensitive attribute and can never be a model feature "
        "(privacy by design); it may only be used in the audit-only table for fairness "
        f"checks. Remove it from {where}."
    )


def _fold(name: str) -> str:
    """A name as a reader would see it: compatibility-normalised and case-folded, so that
    ``"GENDER"`` and full-width ``ｇｅｎｄｅｒ`` are both ``gender``."""
    return unicodedata.normalize("NFKC", name).casefold()


def _text(node: exp.Expr) -> str:
    sql = node.sql(dialect="duckdb", comments=False)
    return sql if len(sql) <= 80 else sql[:77] + "..."


def _why(node: exp.Expr) -> str:
    """Why a node is refused, in the reader's words."""
    if isinstance(node, exp.Subquery | exp.Select | exp.SetOperation | exp.Exists | exp.With):
        kind = "a subquery" if isinstance(node, exp.Subquery | exp.Exists) else "a query"
        return f"{kind} `{_text(node)}` reads tables; queries are not allowed"
    if isinstance(node, exp.Star | exp.Columns):
        return f"`{_text(node)}` expands to unnamed columns (star or COLUMNS); name each column"
    if isinstance(node, exp.Window):
        return f"the window function `{_text(node)}` reads other customers' rows"
    if isinstance(node, exp.AggFunc):
        return f"the aggregate function `{_text(node)}` reads other customers' rows"
    if isinstance(node, exp.Table):
        return f"the table reference `{_text(node)}` is not allowed"
    if isinstance(node, exp.Lambda):
        return f"the lambda `{_text(node)}` is not allowed"
    if isinstance(node, exp.Dot | exp.Bracket | exp.StructExtract | exp.Struct | exp.Array):
        return f"struct and list expressions such as `{_text(node)}` are not allowed"
    if isinstance(node, exp.Placeholder | exp.Parameter):
        return f"the parameter `{_text(node)}` is not allowed"
    if isinstance(node, exp.Func):
        text = _text(node)
        called = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\(", text)
        name = called.group(1).lower() if called else node.sql_name().lower()
        return f"the function {name}() in `{text}` is not allowed"
    return f"`{_text(node)}` ({type(node).__name__}) is not allowed"


def _check_column(column: exp.Column, columns: Collection[str], what: str) -> None:
    if isinstance(column.this, exp.Star):
        raise ConfigError(f"{what}: {_why(column.this)}; {_GRAMMAR}")
    if column.table or column.args.get("db") or column.args.get("catalog"):
        raise ConfigError(
            f"{what}: the qualified column `{_text(column)}` is not allowed; write the column "
            f"name alone, e.g. `{column.name}`; {_GRAMMAR}"
        )
    name = column.name.lower()
    if name in _IDENTIFIERS:
        raise ConfigError(
            f"{what}: the column '{column.name}' is an identifier, not a property of the "
            "customer; config SQL may not read it"
        )
    if name not in columns:
        raise ConfigError(
            f"{what}: unknown column '{column.name}';{did_you_mean(name, columns)} "
            f"Allowed columns: {', '.join(columns)}"
        )


def _check_node(node: exp.Expr, columns: Collection[str], what: str) -> None:
    parent = node.parent
    if isinstance(node, exp.Column):
        _check_column(node, columns, what)
        return
    if isinstance(node, exp.Identifier) and isinstance(parent, exp.Column):
        return  # checked with its column
    unit_of = exp.DateDiff | exp.Interval
    if isinstance(node, exp.Var) and isinstance(parent, unit_of) and node.arg_key == "unit":
        return
    if isinstance(node, exp.DataType) and isinstance(parent, exp.Cast) and node.arg_key == "to":
        if node.this in _CAST_TYPES:
            return
        raise ConfigError(f"{what}: CAST to `{_text(node)}` is not allowed; {_GRAMMAR}")
    # the precision and scale of DECIMAL(p, s)
    precision = isinstance(node, exp.DataTypeParam) and isinstance(parent, exp.DataType)
    if precision and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return
    if isinstance(node, _ALLOWED) and not isinstance(node, exp.Anonymous):
        return
    raise ConfigError(f"{what}: {_why(node)}; {_GRAMMAR}")


def _parse(sql: str, what: str) -> exp.Expr:
    try:
        tokens = sqlglot.tokenize(sql, dialect="duckdb")
        for token in tokens:
            if token.comments:
                raise ConfigError(
                    f"{what}: holds a comment ({token.comments[0].strip()!r}); comments are "
                    "not allowed in config SQL, put the explanation in 'description'"
                )
        statements = [s for s in sqlglot.parse(sql, dialect="duckdb") if s is not None]
    except SqlglotError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{what}: not valid SQL ({first}); {_GRAMMAR}") from None
    if not statements:
        raise ConfigError(f"{what}: the SQL is empty; {_GRAMMAR}")
    if len(statements) > 1:
        raise ConfigError(
            f"{what}: holds {len(statements)} statements (`{_text(statements[1])}` after "
            f"the first); {_GRAMMAR}"
        )
    return statements[0]


def scalar_sql(
    sql: str,
    *,
    columns: Collection[str],
    what: str,
    table: str | None = None,
    sensitive: Collection[str] = (),
) -> str:
    """Check ``sql`` against the grammar and return it regenerated from the parsed tree.

    Parameters
    ----------
    sql
        The SQL text from the config.
    columns
        The column names it may read.
    what
        How the error names it, e.g. ``"custom feature 'x'"``.
    table
        When given, every column is qualified with this table in the returned SQL.
    sensitive
        Names refused as sensitive attributes (a clearer message than "unknown column").

    Raises
    ------
    ConfigError
        Naming ``what``, the offending part and what is allowed.
    """
    tree = _parse(sql, what)
    folded_sensitive = {_fold(s) for s in sensitive}
    for node in tree.walk(bfs=False):
        if isinstance(node, exp.Identifier) and _fold(node.name) in folded_sensitive:
            raise ConfigError(sensitive_message(node.name, f"the SQL of {what}"))
    allowed = tuple(columns)
    for node in tree.walk(bfs=False):
        _check_node(node, allowed, what)

    def requalify(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column):
            return exp.column(node.name.lower(), table=table, quoted=True)
        return node

    clean = tree.copy().transform(requalify)
    return clean.sql(dialect="duckdb", comments=False)
