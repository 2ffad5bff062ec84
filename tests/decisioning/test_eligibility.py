"""Eligibility as a property: nobody contacted within the cooldown is ever eligible."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from nextbest.config import ActionConfig
from nextbest.decisioning import eligibility, rule_descriptions
from nextbest.store import Store

D = dt.date(2025, 3, 2)
ARMS = ["treat", "holdout", "explore"]


@settings(max_examples=60, deadline=None)
@given(
    contacts=st.lists(
        st.tuples(st.integers(1, 20), st.integers(1, 120), st.sampled_from(ARMS)), max_size=40
    ),
    cooldown=st.integers(0, 12),
    flow=st.integers(1, 6),
)
def test_no_customer_in_cooldown_is_eligible(
    contacts: list[tuple[int, int, str]], cooldown: int, flow: int
) -> None:
    """For random contact histories of earlier weeks, a customer assigned within the cooldown
    or held out within the action's 8-week measurement window is never eligible, one mailed
    within the flow is stopped by the flow rule, and everyone else passes both (all other
    rules pass by construction)."""
    action = ActionConfig(name="a", cooldown_weeks=cooldown, flow_weeks=flow)
    with Store(":memory:") as store:
        for rid in range(1, 21):
            store.execute(
                "INSERT INTO snapshots VALUES (?, ?, 40, 'mass', true, true, 2, 500.0, true, 3, "
                "true, true, DATE '2015-01-01', false, 0)",
                [rid, D],
            )
        for rid, days_ago, arm in contacts:
            store.execute(
                "INSERT INTO contacts VALUES (?, 'a', ?, 'r', ?)",
                [rid, D - dt.timedelta(days=days_ago), arm],
            )
        table = eligibility(store, action, D).to_pylist()
    for row in table:
        rid = row["relation_id"]
        mine = [(days, arm) for r, days, arm in contacts if r == rid]
        in_flow = any(days < 7 * flow and arm != "holdout" for days, arm in mine)
        in_cooldown = any(
            days < 7 * cooldown or (arm == "holdout" and days < 7 * action.label_weeks)
            for days, arm in mine
        )
        if in_flow:
            assert row["first_failed_rule"] == "not_in_flow"
        elif in_cooldown:
            assert row["first_failed_rule"] == "not_in_cooldown"
        else:
            assert row["eligible"], (rid, mine)


def test_rule_order_is_documented() -> None:
    """Built-in rules come first, in their fixed order, then the configured ones."""
    action = ActionConfig.model_validate(
        {"name": "a", "rules": [{"name": "rich", "sql": "total_balance > 1"}]}
    )
    assert list(rule_descriptions(action)) == [
        "opted_in",
        "adult",
        "not_investing",
        "not_in_flow",
        "not_in_cooldown",
        "rich",
    ]
