"""Statuses, the release gate, rollback, and the shadow scored beside the champion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nextbest.errors import ReleaseBlockedError
from nextbest.models import (
    Finding,
    LogisticPropensity,
    PropensityModel,
    champion_version,
    model_events,
    register_model,
    rollback,
    set_status,
)
from nextbest.pipeline import promote, run_week
from nextbest.store import Store
from tests.pipeline.conftest import hand_model, tiny_config

WEEK_KEY = Finding("time_key", "critical", ("fund_return_1w", "fund_return_4w"), "e", "r", 1.0)


def _other_model(intercept: float = -2.0) -> PropensityModel:
    """score = sigmoid(engagement + intercept): a different, still hand-checkable model."""
    m = hand_model()
    data = m.estimator.to_dict()
    data["intercept"] = intercept
    return PropensityModel(
        m.action, m.features, LogisticPropensity.from_dict(data), metadata=dict(m.metadata)
    )


def _run_models(store: Store, path: Path) -> dict[str, str]:
    # the same week again each time: the new run supersedes the one before
    result = run_week(store, tiny_config(path), supersede="model changed", actor="ana")
    return dict(
        json.loads(store.scalar("SELECT models FROM runs WHERE run_id = ?", [result.run_id]))
    )


def test_promote_and_rollback_change_the_model_the_run_uses(
    tiny_store: tuple[Store, Path],
) -> None:
    """Promotion makes the next run use the new champion; rollback brings the old one back;
    every change is an event with who and why."""
    store, path = tiny_store
    first = champion_version(store, "invest-onboarding")
    second = register_model(store, _other_model())
    assert second.status == "candidate"
    assert _run_models(store, path) == {"invest-onboarding": first.version}
    set_status(store, second.version, "champion", actor="ana", reason="better lift")
    assert _run_models(store, path) == {"invest-onboarding": second.version}
    rolled = rollback(store, "invest-onboarding", actor="ben", reason="volume doubled")
    assert rolled.version == first.version
    assert _run_models(store, path) == {"invest-onboarding": first.version}
    events = [
        (e["version"], e["event"], e["from"], e["to"], e["actor"])
        for e in model_events(store, "invest-onboarding")
    ]
    assert events[-4:] == [
        (first.version, "displaced", "champion", "retired", "ana"),
        (second.version, "promoted", "candidate", "champion", "ana"),
        (second.version, "rolled_back", "champion", "retired", "ben"),
        (first.version, "rollback", "retired", "champion", "ben"),
    ]


def test_critical_findings_block_champion_without_override(
    tiny_store: tuple[Store, Path],
) -> None:
    """A model with a critical finding is registered as candidate and cannot become
    champion; a written override lets it through and is recorded."""
    store, path = tiny_store
    v = register_model(store, _other_model(-2.5), findings=[WEEK_KEY])
    assert v.status == "candidate"
    cfg = tiny_config(path)
    with pytest.raises(
        ReleaseBlockedError,
        match=r"critical leakage findings \(time_key fund_return_1w/"
        r"fund_return_4w\).*written reason",
    ):
        set_status(store, v.version, "champion", actor="ana", reason="try")
    with pytest.raises(ReleaseBlockedError):
        promote(store, cfg, v.version, to="champion", actor="ana", reason="try")
    done = set_status(
        store,
        v.version,
        "champion",
        actor="ana",
        reason="campaign",
        override="market features reviewed by the model risk board, ticket 42",
    )
    assert done.status == "champion"
    overrides = [e for e in model_events(store) if e["event"] == "override"]
    assert [(o["actor"], o["reason"]) for o in overrides] == [
        ("ana", "market features reviewed by the model risk board, ticket 42")
    ]


def test_first_model_with_critical_finding_is_not_champion(tmp_path: Path) -> None:
    """Even the first model of an action waits as a candidate when it has a critical finding."""
    with Store(tmp_path / "x.duckdb") as store:
        v = register_model(store, hand_model(), findings=[WEEK_KEY])
        assert v.status == "candidate"


def test_status_change_needs_a_name_and_reason(tiny_store: tuple[Store, Path]) -> None:
    """Nobody changes a model's status anonymously."""
    store, _ = tiny_store
    v = register_model(store, _other_model())
    with pytest.raises(ValueError, match="needs the name of who makes it and a reason"):
        set_status(store, v.version, "shadow", actor=" ", reason="x")


def test_shadow_is_scored_and_logged_never_acted_on(tiny_store: tuple[Store, Path]) -> None:
    """With a shadow, each decision carries the shadow's score and selection; the arms and
    the decision come from the champion alone."""
    store, path = tiny_store
    shadow = register_model(store, _other_model(-2.0))
    set_status(store, shadow.version, "shadow", actor="ana", reason="watch it")
    result = run_week(store, tiny_config(path))
    rows = {
        r[0]: r[1:]
        for r in store.fetchall(
            "SELECT relation_id, score, shadow_score, shadow_selected, arm FROM decisions "
            "WHERE run_id = ?",
            [result.run_id],
        )
    }
    # engagement 3 -> champion sigmoid(0) = 0.5, shadow sigmoid(1) = 0.7311
    assert rows[101][0] == pytest.approx(0.5)
    assert rows[101][1] == pytest.approx(0.731059, abs=1e-6)
    # engagement 1.25: champion 0.148 (not selected); shadow sigmoid(-0.75) = 0.3208 ≥ 0.2,
    # but the shadow's top two are 101 and 102, so it would not select 104 either
    assert rows[104][2] is False
    assert rows[104][3] == "none"
    assert rows[105][1] is None  # ineligible: not scored by either
    models = json.loads(store.scalar("SELECT models FROM runs WHERE run_id = ?", [result.run_id]))
    assert models["invest-onboarding:shadow"] == shadow.version
