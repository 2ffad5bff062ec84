"""Config SQL is parsed and held to one scalar expression over documented columns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from nextbest._scalar_sql import (
    FEATURE_COLUMNS,
    RULE_COLUMNS,
    SCALAR_FUNCTIONS,
    SNAPSHOT_COLUMNS,
    scalar_sql,
)
from nextbest.config import SENSITIVE_ATTRIBUTES, config_from_mapping
from nextbest.errors import ConfigError
from nextbest.features import FEATURES
from nextbest.store import DATA_TABLES

GENDER_ATTACK = (
    "(SELECT CASE struct_extract(s, 'gen' || 'der') WHEN 'F' THEN 1 END "
    "FROM audit.sensitive_attributes s WHERE s.relation_id = base.relation_id)"
)
POSTCODE_ATTACK = (
    "(SELECT CAST(COLUMNS('^post') AS INT) FROM audit.sensitive_attributes a "
    "WHERE a.relation_id = base.relation_id)"
)

# (SQL, what the message must name)
ATTACKS = [
    (GENDER_ATTACK, r"a subquery `\(SELECT CASE STRUCT_EXTRACT"),
    (POSTCODE_ATTACK, r"a subquery `\(SELECT CAST\(COLUMNS"),
    ("COLUMNS('^post')", r"`COLUMNS\('\^post'\)` expands to unnamed columns"),
    ("gender", r"'gender' in the SQL of .* is a sensitive attribute"),
    ('"gender"', r"'gender' in the SQL of .* is a sensitive attribute"),
    ('"GENDER"', r"'GENDER' in the SQL of .* is a sensitive attribute"),
    ("\uff47\uff45\uff4e\uff44\uff45\uff52 = 'F'", r"is a sensitive attribute"),  # full-width
    ("gen\u0435der = 'F'", r"unknown column 'gen\u0435der'"),  # Cyrillic e
    ("s.postcode_area", r"'postcode_area' in the SQL of .* is a sensitive attribute"),
    ("WITH x AS (SELECT 1 AS y) SELECT y FROM x", r"a query `WITH x AS"),
    ("age UNION SELECT 1", r"not valid SQL|a query"),
    ("SELECT 1 UNION SELECT 2", r"a query `SELECT 1 UNION SELECT 2`"),
    ("age; SELECT gender FROM audit.sensitive_attributes", r"holds 2 statements"),
    ("age /* ; DROP TABLE snapshots */", r"holds a comment"),
    ("age -- trailing", r"holds a comment"),
    ("read_parquet('nextbest.audit.duckdb')", r"function read_parquet\(\)"),
    ("read_csv('audit/sensitive_attributes.csv')", r"function read_csv"),
    ("getenv('HOME')", r"function getenv\(\)"),
    ("current_setting('home_directory')", r"function current_setting\(\)"),
    ("query('SELECT 1')", r"function query\(\)"),
    ("(SELECT 1)", r"a subquery `\(SELECT 1\)`"),
    ("EXISTS(SELECT 1 FROM snapshots)", r"a subquery `EXISTS\(SELECT 1 FROM snapshots\)`"),
    ("age IN (SELECT age FROM snapshots)", r"a subquery `\(SELECT age FROM snapshots\)`"),
    ("list_transform([age], x -> x + 1)", r"function list_transform\(\) in `LIST_TRANSFORM"),
    ("struct_extract(s, 'gen')", r"struct and list expressions such as `STRUCT_EXTRACT"),
    ("*", r"`\*` expands to unnamed columns"),
    ("base.*", r"`\*` expands to unnamed columns"),
    ("base.age", r"the qualified column `base.age`"),
    ("avg(age) OVER ()", r"the window function `AVG\(age\) OVER \(\)`"),
    ("max(age)", r"the aggregate function `MAX\(age\)`"),
    ("relation_id % 2 = 0", r"'relation_id' is an identifier"),
    ("$day", r"the parameter `\$day`"),
    ("CAST(age AS STRUCT(a INT))", r"CAST to `STRUCT\(a INT\)`"),
    ("age x", r"`age AS x` \(Alias\)"),
    ("'gen' || 'der'", r"`'gen' \|\| 'der'` \(DPipe\)"),
    ("", r"the SQL is empty"),
    ("age +", r"not valid SQL"),
]


@pytest.mark.parametrize(("sql", "named"), ATTACKS, ids=[a[0][:40] for a in ATTACKS])
def test_custom_feature_attack_is_refused_at_load(sql: str, named: str) -> None:
    """Each attack is refused when the config loads, naming the feature and the offending part."""
    custom = {"name": "sneaky", "sql": sql, "description": "x"}
    with pytest.raises(ConfigError, match=r"custom feature 'sneaky'") as info:
        config_from_mapping({"features": {"custom": [custom]}})
    assert len(str(info.value).splitlines()) == 1
    assert re.search(named, str(info.value)), str(info.value)


@pytest.mark.parametrize(("sql", "named"), ATTACKS, ids=[a[0][:40] for a in ATTACKS])
def test_rule_attack_is_refused_at_load(sql: str, named: str) -> None:
    """The same attacks as eligibility rules are refused, naming the rule."""
    action = {"name": "invest-onboarding", "rules": [{"name": "sneaky", "sql": sql}]}
    with pytest.raises(ConfigError, match=r"rule 'sneaky'") as info:
        config_from_mapping({"actions": [action]})
    assert len(str(info.value).splitlines()) == 1
    assert re.search(named, str(info.value)), str(info.value)


def test_misspelt_column_gets_a_did_you_mean() -> None:
    """An unknown column is named with the closest allowed one and the allowed list."""
    with pytest.raises(ConfigError, match=r"unknown column 'n_acounts'; Did you mean 'n_accounts'"):
        scalar_sql("n_acounts > 2", columns=RULE_COLUMNS, what="rule 'r'")


def test_accepted_sql_is_regenerated_qualified_and_without_comments() -> None:
    """What a query embeds is the parsed tree written out again: columns quoted, lower-cased
    and qualified with the row's table."""
    sql = scalar_sql(
        "CASE WHEN \"N_Accounts\" >= 3 AND segment IN ('mass') THEN ln(1 + total_balance) END",
        columns=FEATURE_COLUMNS,
        what="x",
        table="base",
    )
    assert sql == (
        'CASE WHEN "base"."n_accounts" >= 3 AND "base"."segment" IN (\'mass\') '
        'THEN LN(1 + "base"."total_balance") END'
    )


@pytest.mark.parametrize(
    "sql",
    [
        "total_balance >= 100",
        "coalesce(optin_general, false) AND NOT is_investor",
        "age BETWEEN 18 AND 67",
        "customer_since <= snapshot_date - INTERVAL 90 DAY",
        "date_diff('day', customer_since, snapshot_date) > 365",
        "CAST(n_accounts AS DOUBLE) / greatest(ib_logins_4w, 1) < 0.5",
        "round(sqrt(abs(total_balance)), 2) > 10",
        "segment IS DISTINCT FROM 'private'",
        "if(app_installed, 1, 0) = 1",
        "nullif(n_accounts, 0) IS NOT NULL",
    ],
)
def test_ordinary_rules_are_accepted(sql: str) -> None:
    """Ordinary conditions a marketeer writes pass the grammar."""
    scalar_sql(sql, columns=RULE_COLUMNS, what="rule 'r'", sensitive=SENSITIVE_ATTRIBUTES)


def test_built_in_features_fit_the_grammar() -> None:
    """Every built-in feature could have been written as a custom one: the grammar is not
    tighter than the features the project itself needs."""
    for definition in FEATURES.values():
        scalar_sql(definition.sql, columns=FEATURE_COLUMNS, what=definition.name)


def test_columns_are_the_documented_snapshot_columns() -> None:
    """The grammar's snapshot columns are the store's and docs/data.md's, and none of them is
    sensitive or in the audit table."""
    assert list(SNAPSHOT_COLUMNS) == [name for name, _ in DATA_TABLES["snapshots"]]
    docs = (Path(__file__).resolve().parents[1] / "docs" / "data.md").read_text()
    for column in SNAPSHOT_COLUMNS:
        assert f"| `{column}` |" in docs
    audit_columns = {name for name, _ in DATA_TABLES["audit.sensitive_attributes"]}
    for allowed in (FEATURE_COLUMNS, RULE_COLUMNS):
        assert not set(allowed) & SENSITIVE_ATTRIBUTES
        assert not set(allowed) & audit_columns


def test_grammar_is_documented() -> None:
    """docs/configuration.md names every allowed function and column."""
    docs = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text()
    section = docs.split("## SQL in the config", 1)[1].split("\n## ", 1)[0]
    for name in (*SCALAR_FUNCTIONS, *FEATURE_COLUMNS):
        assert f"`{name}`" in section, name


def test_nextbest_refuses_the_config_in_one_line(tmp_path: Path) -> None:
    """The command stops before doing anything, with one line naming the feature and the
    offending part (exit 2)."""
    from typer.testing import CliRunner

    from nextbest.cli import app

    toml = tmp_path / "nextbest.toml"
    toml.write_text(
        f'[[features.custom]]\nname = "sneaky"\nsql = "{POSTCODE_ATTACK}"\ndescription = "x"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["-c", str(toml), "status"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "custom feature 'sneaky': a subquery `(SELECT CAST(COLUMNS" in lines[0]
    assert not (tmp_path / "nextbest-data").exists()


_TOKENS = [
    "age",
    "total_balance",
    "gender",
    "s",
    "base",
    ".",
    "*",
    "(",
    ")",
    ",",
    "+",
    "-",
    "/",
    "=",
    ">=",
    "AND",
    "OR",
    "NOT",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "SELECT",
    "FROM",
    "WHERE",
    "audit.sensitive_attributes",
    "1",
    "2.5",
    "'F'",
    "NULL",
    "coalesce",
    "least",
    "struct_extract",
    "COLUMNS",
    "read_csv",
    "getenv",
    "OVER",
    "sum",
    "IN",
    ";",
    "--",
    "/*",
    "*/",
    "->",
    "x",
    "CAST",
    "AS",
    "INT",
    "IS",
    "UNION",
    "EXISTS",
    "lambda",
    ":",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), min_size=1, max_size=12))
def test_whatever_passes_is_a_scalar_over_allowed_columns(tokens: list[str]) -> None:
    """For any text, the grammar either refuses it with a ConfigError or returns SQL whose
    tree holds no query, table, star, unknown function, window or aggregate, reads only
    allowed columns, and passes the grammar again unchanged."""
    try:
        out = scalar_sql(" ".join(tokens), columns=FEATURE_COLUMNS, what="f", table="base")
    except ConfigError:
        return
    tree = sqlglot.parse_one(out, dialect="duckdb")
    forbidden = (exp.Query, exp.Subquery, exp.Table, exp.Star, exp.Anonymous, exp.Window)
    assert tree.find(*forbidden, exp.AggFunc, exp.Lambda, exp.Columns) is None, out
    assert {c.name for c in tree.find_all(exp.Column)} <= set(FEATURE_COLUMNS)
    assert {c.table for c in tree.find_all(exp.Column)} <= {"base"}
    again = scalar_sql(out.replace('"base".', ""), columns=FEATURE_COLUMNS, what="f", table="base")
    assert again == out
