"""The typed tables the edges show: the knob table and a page of a run's decisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from nextbest.errors import NotFoundError
from nextbest.pipeline import KnobRow, decisions_page, knob_table, knob_values, run_week
from nextbest.store import Store
from tests.pipeline.conftest import tiny_config


def test_knob_table_lists_every_knob_of_every_action(tiny_store: tuple[Store, Path]) -> None:
    """One row per knob in the documented order, with the config's values and the store's
    on/off switch; as a mapping per action too."""
    store, path = tiny_store
    rows = knob_table(store, tiny_config(path))
    assert [(r.knob, r.value) for r in rows] == [
        ("enabled", True),
        ("threshold", 0.2),
        ("min_weekly", 2),
        ("max_weekly", 2),
        ("holdout_fraction", 0.0),
        ("exploration_size", 0),
        ("cooldown_weeks", 8),
        ("lever", 1.0),
        ("contact_cost", 0.0),
    ]
    assert {r.action for r in rows} == {"invest-onboarding"}
    assert rows[1] == KnobRow(
        "invest-onboarding", "threshold", 0.2, "select customers whose score is at least this"
    )
    assert knob_values(rows)["invest-onboarding"]["max_weekly"] == 2


def test_decisions_page_filters_counts_and_pages(tiny_store: tuple[Store, Path]) -> None:
    """Filtering by arm or customer gives the matching total; pages split the ordered rows."""
    store, path = tiny_store
    rid = run_week(store, tiny_config(path)).run_id
    treat = decisions_page(store, rid, arm="treat")
    assert (treat.run_id, treat.total) == (rid, 2)
    assert [(d.relation_id, d.rank) for d in treat.items] == [(101, 1), (102, 2)]
    one = decisions_page(store, "latest", relation_id=103)
    assert (one.total, one.items[0].arm, one.items[0].rank) == (1, "none", 3)
    everyone = decisions_page(store, rid, size=100).items
    first, second = decisions_page(store, rid, size=2), decisions_page(store, rid, page=2, size=2)
    assert first.items + second.items == everyone[:4]
    assert first.total == len(everyone)
    with pytest.raises(NotFoundError, match="no run 'nope'"):
        decisions_page(store, "nope")
