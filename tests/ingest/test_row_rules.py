"""The row rules' SQL: the contract's bounds are parameters, enforced at the boundary."""

from __future__ import annotations

import duckdb

from nextbest.ingest._contracts import ColumnContract, Contract
from nextbest.ingest._row_rules import row_rules

CONTRACT = Contract(
    table="conversions",
    columns=(
        ColumnContract("relation_id", "relation", nullable=False, min=1),
        ColumnContract("amount", "amount", min=0.5, max=10.0),
    ),
    key=("relation_id",),
    partition=None,
    description="bounds under test",
)


def test_bounds_are_parameters_and_inclusive() -> None:
    """relation_id ≥ 1 and amount in 0.5..10 (both ends allowed) are checked from ``$min_0``,
    ``$min_1`` and ``$max_1``; no bound is written into the comparison."""
    rules = row_rules(CONTRACT, {"relation_id", "amount"}, materialised=set())
    assert dict(rules.params) == {"min_0": 1, "min_1": 0.5, "max_1": 10.0}
    assert '"amount" < $min_1' in rules.sql and '"amount" > $max_1' in rules.sql
    assert "< 0.5" not in rules.sql and "> 10.0" not in rules.sql
    rows = [(1, 0.5), (2, 10.0), (3, 0.49), (4, 10.01), (0, 1.0), (5, None)]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (relation_id BIGINT, amount DOUBLE)")
    con.executemany("INSERT INTO t VALUES (?, ?)", rows)
    got = con.execute(
        f"SELECT relation_id, [v.r FOR v IN list_filter({rules.sql}, lambda x: x IS NOT NULL)]"
        " FROM t ORDER BY relation_id",
        dict(rules.params),
    ).fetchall()
    assert got == [
        (0, ["range: outside 1..inf"]),
        (1, []),
        (2, []),
        (3, ["range: outside 0.5..10"]),
        (4, ["range: outside 0.5..10"]),
        (5, []),
    ]
