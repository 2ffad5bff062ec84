"""Selection per group from the audit-only table, by hand; sensitive attributes stay out of
the features."""

from __future__ import annotations

from pathlib import Path

import pytest

from nextbest.config import FeaturesConfig
from nextbest.errors import ConfigError
from nextbest.evaluation import never_selected, selection_by_group
from nextbest.features import build_features, resolve_features
from nextbest.pipeline import run_week
from nextbest.store import Store
from tests.pipeline.conftest import D, tiny_config

FEMALE = {101, 103, 104, 105, 106}


def test_selection_by_gender_by_hand(tiny_store: tuple[Store, Path]) -> None:
    """F: 3 of 5 pass the legal rules (105 is a minor, 106 not opted in), 1 of those 3 is
    selected; M: 6 of 7 pass (112's opt-in is unknown), 1 of 6 selected. Ratios to the
    highest: legal F 0.6 / (6/7) = 0.7; model M (1/6) / (1/3) = 0.5."""
    store, path = tiny_store
    with store.audit():
        for rid in range(101, 113):
            store.execute(
                "INSERT INTO audit.sensitive_attributes VALUES (?, ?, '10xx', 0)",
                [rid, "F" if rid in FEMALE else "M"],
            )
    result = run_week(store, tiny_config(path))
    rows = {
        g["group"]: g
        for g in selection_by_group(store, [result.run_id])
        if g["grouping"] == "gender"
    }
    assert rows["F"]["customers"] == 5
    assert rows["F"]["legal_pass_rate"] == pytest.approx(0.6)
    assert rows["F"]["selection_rate_among_legal"] == pytest.approx(1 / 3)
    assert rows["M"]["legal_pass_rate"] == pytest.approx(6 / 7)
    assert rows["M"]["selection_rate_among_legal"] == pytest.approx(1 / 6)
    assert rows["F"]["legal_ratio_to_highest"] == pytest.approx(0.7)
    assert rows["M"]["model_ratio_to_highest"] == pytest.approx(0.5)
    never = never_selected(store, [result.run_id])
    assert (never.runs, never.customers_in_every_run, never.never_selected) == (1, 12, 10)
    assert never.share == pytest.approx(10 / 12)  # 12 customers, 2 selected
    assert {w.reason: w.customers for w in never.why} == {
        "eligible, score 0.02 or more": 2,
        "opted_in": 2,
        "not_in_cooldown": 2,
        "not_investing": 1,
        "not_in_flow": 1,
        "adult": 1,
        "has_some_balance": 1,
    }
    assert [w.customers for w in never.why] == [2, 2, 2, 1, 1, 1, 1]  # most frequent first
    selected, unselected = never.profile
    assert (selected.who, selected.mean_age, selected.app_share) == (
        "selected at least once",
        37.5,
        1.0,
    )
    assert (unselected.who, unselected.mean_age, unselected.app_share) == (
        "never selected",
        pytest.approx(40.6),
        pytest.approx(0.9),
    )
    assert unselected.opted_in_share == pytest.approx(8 / 9)  # 112's unknown opt-in left out
    assert unselected.median_balance == selected.median_balance == 1000.0
    assert [p.who for p in never.profile] == ["selected at least once", "never selected"]


def test_sensitive_attributes_never_reach_features(tiny_store: tuple[Store, Path]) -> None:
    """Features are built from snapshots and prices only: even with the audit table filled,
    no feature column carries gender or postcode, and asking for one is refused."""
    store, _ = tiny_store
    with store.audit():
        store.execute("INSERT INTO audit.sensitive_attributes VALUES (101, 'F', '10xx', 0)")
    fs = resolve_features(FeaturesConfig())
    table = build_features(store, fs, [D])
    assert not {"gender", "postcode_area", "postcode"} & set(table.column_names)
    from nextbest.config import config_from_mapping

    with pytest.raises(ConfigError, match="sensitive attribute"):
        config_from_mapping({"features": {"enabled": ["age", "gender"]}})
    from nextbest.features._build import _query

    assert "audit" not in _query(fs)


def test_proxy_check_covers_custom_features(tiny_store: tuple[Store, Path]) -> None:
    """The proxy check builds the run's own feature set, custom features included: a custom
    feature equal to the app flag (only 103, a woman, has no app: F 4 of 5 have it, M all 7)
    has η² = (5·(0.8−11/12)² + 7·(1−11/12)²)
    / (12·(11/12)·(1/12)) = (7/60)/(11/12) = 7/55 by gender."""
    store, path = tiny_store
    with store.audit():
        for rid in range(101, 113):
            store.execute(
                "INSERT INTO audit.sensitive_attributes VALUES (?, ?, '10xx', 0)",
                [rid, "F" if rid in FEMALE else "M"],
            )
    result = run_week(store, tiny_config(path))
    features = FeaturesConfig(
        enabled=["engagement"],
        custom=[{"name": "has_app", "sql": "CAST(app_installed AS INTEGER)", "description": "app"}],
    )
    from nextbest.evaluation import proxy_check

    rows = {(r["feature"], r["attribute"]): r for r in proxy_check(store, result.run_id, features)}
    assert rows[("has_app", "gender")]["eta_squared"] == pytest.approx(7 / 55)
