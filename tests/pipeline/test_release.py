"""Statuses, the release gate, rollback, and the shadow scored beside the champion."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nextbest.cli import app
from nextbest.config import Config, config_from_mapping
from nextbest.errors import NotFoundError, ReleaseBlockedError
from nextbest.features import loaded_snapshot_dates
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
from nextbest.pipeline import promote, run_week, train_models
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


def _bank_config(path: Path, **action: object) -> Config:
    """The small session bank (1,000 customers, 36 weeks) with one action."""
    return config_from_mapping(
        {
            "store": {"path": str(path)},
            "actions": [{"name": "invest-onboarding", **action}],
        }
    )


def test_a_model_worse_than_chance_stays_candidate(loaded_store: Store, tmp_path: Path) -> None:
    """Reproduction of the reported case on a small bank with a one-week label window: the
    first LightGBM model ranks worse than chance on the evaluation weeks; it stays a candidate
    with the failed rule named, and the weekly run refuses with the gate and the fix."""
    cfg = _bank_config(tmp_path / "unused.duckdb", label_weeks=1)
    (trained,) = train_models(loaded_store, cfg)
    m = trained.result.metrics["lightgbm"]
    assert m["roc_auc"] <= 0.5  # the model today's code made champion
    v = trained.version
    assert v.status == "candidate"
    lo, hi = m["roc_auc_ci"]
    assert lo <= m["roc_auc"] <= hi
    assert "above_chance" in {f.check for f in v.critical}
    assert v.metrics["gate"]["passed"] is False
    assert "## Release gate" in v.card
    assert "**FAIL** above_chance" in v.card
    (registered,) = [e for e in model_events(loaded_store) if e["version"] == v.version]
    assert registered["reason"].startswith("first model of the action, held back: release gate")
    day = loaded_snapshot_dates(loaded_store)[-1]
    with pytest.raises(
        NotFoundError,
        match=r"no champion model: its latest model invest-onboarding@\w+ is a candidate, held "
        r"back by release gate above_chance: ROC-AUC 0\.\d+ on the evaluation weeks .*"
        r"nextbest models promote invest-onboarding@\w+ --to champion --by NAME --reason "
        r"\"why\" --override \"reason\"",
    ):
        run_week(loaded_store, cfg, day=day)
    with pytest.raises(ReleaseBlockedError, match=r"held back by release gate above_chance"):
        promote(loaded_store, cfg, v.version, to="champion", actor="ana", reason="try")
    done, _ = promote(
        loaded_store,
        cfg,
        v.version,
        to="champion",
        actor="ana",
        reason="pilot week",
        override="small pilot accepted by the model risk board, ticket 7",
    )
    assert done.status == "champion"
    (override,) = [e for e in model_events(loaded_store) if e["event"] == "override"]
    assert (override["actor"], override["version"]) == ("ana", v.version)


def test_leakage_note_and_metrics_quote_the_same_figure(
    loaded_store: Store, tmp_path: Path
) -> None:
    """The leakage hunt's "later weeks" ROC-AUC is the deployed model's evaluation ROC-AUC, on
    the same rows (same figure, same row count)."""
    cfg = _bank_config(tmp_path / "unused.duckdb", label_weeks=4, model={"n_estimators": 60})
    (trained,) = train_models(loaded_store, cfg)
    m = trained.result.metrics["lightgbm"]
    (gap,) = [f for f in trained.findings if f.check == "random_vs_time_gap"]
    quoted = (
        f"against {m['roc_auc']:.3f} trained on earlier weeks only, both on the evaluation "
        f"weeks ({m['n']:,} rows;"
    )
    assert quoted in gap.evidence
    assert m["n"] == trained.result.n_rows["evaluation"]


def test_cli_shows_the_failed_gate(loaded_db: Path, tmp_path: Path) -> None:
    """`nextbest train` prints the failed rule and the override command, `models show` carries
    it in the model card, and `nextbest run` refuses with the gate named (exit 2)."""
    store_path = tmp_path / "bank.duckdb"
    shutil.copy(loaded_db, store_path)
    config = tmp_path / "nextbest.toml"
    config.write_text(
        f'[store]\npath = "{store_path}"\n\n[[actions]]\nname = "invest-onboarding"\n'
        "label_weeks = 1\n"
    )
    runner = CliRunner()
    trained = runner.invoke(app, ["-c", str(config), "train"])
    assert trained.exit_code == 0, trained.output
    assert "critical above_chance: ROC-AUC" in trained.output
    assert "release gate: failed (above_chance" in trained.output
    version = re.search(r"nextbest models promote (\S+) --to champion", trained.output)
    assert version is not None, trained.output
    shown = runner.invoke(app, ["-c", str(config), "models", "show", version.group(1)])
    assert "**FAIL** above_chance" in shown.output
    assert "held back: release gate above_chance" in shown.output
    listed = runner.invoke(app, ["-c", str(config), "models", "list"])
    assert "failed" in listed.output
    ran = runner.invoke(app, ["-c", str(config), "run"])
    assert ran.exit_code == 2
    assert "no champion model" in ran.output
    assert "release gate above_chance" in ran.output
    assert f"nextbest models promote {version.group(1)} --to champion" in ran.output
