"""Realistic warehouse faults that the data contract and the checks must catch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nextbest.simulate._dialect import Delivery


@dataclass(frozen=True)
class FaultPlan:
    """Which week gets which fault (indices into the week list)."""

    late_week: int
    malformed_week: int
    null_burst_week: int
    n_bad: int
    null_burst_fraction: float = 0.35


def plan_faults(n_weeks: int, n_customers: int) -> FaultPlan:
    """Faults in the recent past, never in the latest week (the demo scores that one)."""
    return FaultPlan(
        late_week=n_weeks - 6,
        malformed_week=n_weeks - 12,
        null_burst_week=n_weeks - 24,
        n_bad=max(30, n_customers // 500),
    )


def _set(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, values)


def _null_where(column: pa.ChunkedArray, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.scalar(None, column.type), column)


def inject_malformed(
    table: pa.Table, plan: FaultPlan, rng: np.random.Generator, delivery: Delivery
) -> tuple[pa.Table, dict[str, object]]:
    """Corrupt a batch of rows the way exports go wrong; return the table and what was done.

    Every corrupted row must end up in quarantine with its reason. Conflicting duplicates
    (same customer and date, different values) are all quarantined, since nobody can tell
    which copy is right; of exact duplicates one copy is kept and the others quarantined.
    """
    n = table.num_rows
    csv = delivery.file_format == "csv"
    k = plan.n_bad
    group = max(k // 5, 2)
    small = max(k // 10, 2)
    picks = rng.choice(n, size=3 * group + small + (group if csv else 0), replace=False)
    bad_age = picks[:group]
    bad_segment = picks[group : 2 * group]
    bad_accounts = picks[2 * group : 3 * group]
    null_id = picks[3 * group : 3 * group + small]
    bad_balance = picks[3 * group + small :]

    age = table["age"].to_numpy().copy()
    age[bad_age] = np.where(np.arange(group) % 2 == 0, 212, -3)
    table = _set(table, "age", pa.array(age, pa.int32()))
    segment = np.array(table["segment"].to_pylist(), dtype=object)
    segment[bad_segment] = "UNKNOWN"
    table = _set(table, "segment", pa.array(segment.tolist(), pa.string()))
    accounts = table["n_accounts"].to_numpy().copy()
    accounts[bad_accounts] = -1
    table = _set(table, "n_accounts", pa.array(accounts, pa.int32()))
    mask = np.zeros(n, dtype=bool)
    mask[null_id] = True
    table = _set(table, "relation_id", _null_where(table["relation_id"], mask))
    if csv:
        balance = delivery.numbers(table["total_balance"], "total_balance")
        balance = balance.to_numpy(zero_copy_only=False).astype(object)
        # a number in another dialect's formatting ('1.234,56' in a plain file)
        balance[bad_balance] = delivery.bad_number
        table = _set(table, "total_balance", pa.array(balance.tolist(), pa.string()))

    # duplicates: rows outside the corrupted ones, so each row has exactly one reason
    clean = np.setdiff1d(np.arange(n), picks)
    dup_src = rng.choice(clean, size=2 * small, replace=False)
    conflicting, exact = dup_src[:small], dup_src[small:]
    conflict_rows = table.take(pa.array(conflicting))
    if csv:
        changed = delivery.numbers(pa.array(np.arange(small) + 1000.5), "total_balance")
    else:
        changed = pc.add(conflict_rows["total_balance"], 1000.5)
    conflict_rows = _set(conflict_rows, "total_balance", changed)
    exact_rows = table.take(pa.array(exact))
    table = pa.concat_tables([table, conflict_rows, exact_rows])
    report: dict[str, object] = {
        "bad_age": int(group),
        "bad_segment": int(group),
        "bad_accounts": int(group),
        "null_relation_id": int(small),
        "conflicting_duplicate_keys": int(small),
        "exact_duplicate_copies": int(small),
        "unparseable_balance": len(bad_balance),
        # conflicting keys lose both copies; exact duplicates lose only the extra copy
        "expected_quarantined_rows": int(3 * group + small + 2 * small + small + len(bad_balance)),
        "rows_in_file": int(table.num_rows),
    }
    return table, report


def inject_null_burst(
    table: pa.Table, plan: FaultPlan, rng: np.random.Generator
) -> tuple[pa.Table, dict[str, object]]:
    """Blank out the engagement columns for a large share of rows (a broken upstream job)."""
    n = table.num_rows
    mask = rng.random(n) < plan.null_burst_fraction
    for name in ("app_installed", "ib_logins_4w"):
        table = _set(table, name, _null_where(table[name], mask))
    return table, {"columns": ["app_installed", "ib_logins_4w"], "null_rows": int(mask.sum())}
