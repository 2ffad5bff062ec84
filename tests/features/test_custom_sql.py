"""Custom feature and rule SQL reach the queries only as the checked, regenerated tree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from nextbest.config import ActionConfig, EligibilityRule, FeaturesConfig
from nextbest.decisioning import eligibility
from nextbest.decisioning._eligibility import eligibility_query
from nextbest.errors import ConfigError
from nextbest.features import build_features, resolve_features
from nextbest.features._build import _query
from nextbest.store import Store

D = dt.date(2025, 3, 2)

GENDER_ATTACK = (
    "(SELECT CASE struct_extract(s, 'gen' || 'der') WHEN 'F' THEN 1 END "
    "FROM audit.sensitive_attributes s WHERE s.relation_id = base.relation_id)"
)


@pytest.fixture
def store() -> Iterator[Store]:
    """Two customers with a snapshot on D."""
    with Store(":memory:") as store:
        for rid, balance in ((1, 50.0), (2, 1000.0)):
            store.execute(
                "INSERT INTO snapshots VALUES "
                "(?, ?, 40, 'mass', true, true, 2, ?, true, 5, true, true, "
                "DATE '2020-01-01', false, 0)",
                [rid, D, balance],
            )
        yield store


def test_gender_attack_through_a_custom_feature_is_refused() -> None:
    """The subquery over the audit table is refused at config load, naming the subquery."""
    with pytest.raises(ValueError, match=r"custom feature 'f': a subquery `\(SELECT CASE"):
        FeaturesConfig.model_validate(
            {"custom": [{"name": "f", "sql": GENDER_ATTACK, "description": "x"}]}
        )


def test_gender_attack_through_a_rule_is_refused() -> None:
    """The same subquery as an eligibility rule is refused at config load."""
    sql = GENDER_ATTACK.replace("base.", "cur.")
    with pytest.raises(ValueError, match=r"rule 'r': a subquery `\(SELECT CASE"):
        ActionConfig.model_validate({"name": "a", "rules": [{"name": "r", "sql": sql}]})


def test_custom_feature_query_embeds_the_regenerated_sql(store: Store) -> None:
    """The feature query holds the parsed tree written out (qualified, lower-cased), not the
    config's text, and computes the same values."""
    config = FeaturesConfig.model_validate(
        {
            "enabled": [],
            "custom": [{"name": "rich", "sql": '"Total_Balance" >= 100', "description": "x"}],
        }
    )
    fs = resolve_features(config)
    sql = _query(fs)
    assert '("base"."total_balance" >= 100) AS rich' in sql
    assert "Total_Balance" not in sql
    assert [r["rich"] for r in build_features(store, fs, [D]).to_pylist()] == [False, True]


def test_rule_query_embeds_the_regenerated_sql(store: Store) -> None:
    """A rule reaches the eligibility query qualified with the snapshot row ``cur``."""
    action = ActionConfig.model_validate(
        {"name": "a", "rules": [{"name": "rich", "sql": "TOTAL_BALANCE >= 100"}]}
    )
    sql = eligibility_query(action, D).sql
    assert 'coalesce(("cur"."total_balance" >= 100), false)' in sql
    assert "TOTAL_BALANCE" not in sql
    failed = eligibility(store, action, D)["first_failed_rule"].to_pylist()
    assert failed[0] == "rich"


def test_a_rule_copied_past_validation_is_still_checked(store: Store) -> None:
    """Even a rule that skipped the config validator (``model_copy``) is parsed when the
    query is built, so raw text never reaches the database."""
    sneaky = EligibilityRule.model_validate({"name": "r", "sql": "age > 1"}).model_copy(
        update={"sql": "EXISTS(SELECT 1 FROM snapshots)"}
    )
    action = ActionConfig.model_validate({"name": "a"}).model_copy(update={"rules": [sneaky]})
    with pytest.raises(ConfigError, match=r"rule 'r': a subquery `EXISTS"):
        eligibility(store, action, D)
