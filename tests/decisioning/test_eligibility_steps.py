"""Each step the eligibility rules read, alone, on small hand-made tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pyarrow as pa

from nextbest.config import ActionConfig
from nextbest.decisioning import eligibility_params, eligibility_steps

D = dt.date(2025, 3, 2)
# cooldown 2 weeks, label window 8 weeks, flow 4 weeks
ACTION = ActionConfig(name="a", cooldown_weeks=2, label_weeks=8, flow_weeks=4)


def _ids(step: str, tables: dict[str, pa.Table]) -> list[int]:
    """The relation ids the one step ``step`` returns over ``tables``."""
    con = duckdb.connect()
    for name, table in {"settings": _settings(), **tables}.items():
        con.register(name, table)
    sql = eligibility_steps().step_sql(step)
    rows = con.sql(sql, params=_used(sql, eligibility_params(ACTION, D))).fetchall()
    return sorted(r[0] for r in rows)


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters ``sql`` reads (DuckDB refuses values it does not use)."""
    return {k: v for k, v in params.items() if f"${k}" in sql}


def _settings() -> pa.Table:
    """The ``settings`` step alone, from the parameters."""
    sql = eligibility_steps().step_sql("settings")
    return duckdb.sql(sql, params=_used(sql, eligibility_params(ACTION, D))).to_arrow_table()


def _contacts(rows: list[tuple[int, int, str, str]]) -> pa.Table:
    """(relation id, days after D, arm, action) as a contact history."""
    return pa.table(
        {
            "relation_id": [r[0] for r in rows],
            "contact_date": [D + dt.timedelta(days=r[1]) for r in rows],
            "arm": [r[2] for r in rows],
            "action": [r[3] for r in rows],
        }
    )


def test_params_are_the_action_settings_in_days() -> None:
    """Weeks become days; the day and the action name are passed as they are."""
    p = eligibility_params(ACTION, D, run_id="r1")
    assert (p["cooldown_days"], p["window_days"], p["flow_days"]) == (14, 56, 28)
    assert (p["day"], p["action"], p["min_age"], p["run_id"]) == (D, "a", 18, "r1")


def test_settings_are_passed_as_parameters() -> None:
    """The settings row is 18, 14, 56, 28 days, read from the parameters: no value of the
    action is written into the SQL."""
    assert _settings().to_pylist() == [
        {"min_age": 18, "cooldown_days": 14, "window_days": 56, "flow_days": 28}
    ]
    sql = eligibility_steps().step_sql("settings")
    assert not any(str(v) in sql for v in (14, 56, 28))


def test_assigned_is_the_cooldown_and_the_holdout_window() -> None:
    """Treated 13 days before (in the 14-day cooldown): 1; treated 20 days before: no; held
    out 20 days before (in the 56-day window): 3; treated 20 days after (a later week of a
    back-dated run): 4; held out 60 days before (outside the window): no."""
    history = _contacts(
        [
            (1, -13, "treat", "b"),
            (2, -20, "treat", "b"),
            (3, -20, "holdout", "b"),
            (4, 20, "treat", "b"),
            (5, -60, "holdout", "b"),
        ]
    )
    assert _ids("assigned", {"history": history}) == [1, 3, 4]


def test_in_flow_is_mailed_by_this_action_and_not_converted() -> None:
    """Mailed by this action 21 days before, not converted (a savings goal is another outcome): 1;
    the same but converted since:
    no; mailed by another action: no; held out: no; mailed 35 days before (past the 28-day
    flow): no."""
    history = _contacts(
        [
            (1, -21, "treat", "a"),
            (2, -21, "explore", "a"),
            (3, -21, "treat", "b"),
            (4, -21, "holdout", "a"),
            (5, -35, "treat", "a"),
        ]
    )
    conversions = pa.table(
        {
            "relation_id": [2, 1],
            "conversion_date": [D - dt.timedelta(days=3)] * 2,
            "outcome": ["investing", "savings"],
        }
    )
    assert _ids("in_flow", {"history": history, "conversions": conversions}) == [1]


def test_unsubscribed_counts_events_before_the_day() -> None:
    """Unsubscribed the day before: 1; on the day itself: no; another event: no."""
    events = pa.table(
        {
            "relation_id": [1, 2, 3],
            "event": ["unsubscribed", "unsubscribed", "opened"],
            "event_date": [D - dt.timedelta(days=1), D, D - dt.timedelta(days=1)],
        }
    )
    assert _ids("unsubscribed", {"email_events": events}) == [1]
