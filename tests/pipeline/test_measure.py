"""Measuring the exported runs: the figures of evaluation/figures.csv and the empty case."""

from __future__ import annotations

from pathlib import Path

import pytest

from nextbest.errors import NotFoundError
from nextbest.evaluation import Estimate, RunEvaluation
from nextbest.evaluation._runs import ArmFigures
from nextbest.pipeline import Figure, evaluate_project, experiment_effects, fairness_report
from nextbest.pipeline._measure import _figures, _write_figures
from nextbest.store import Store
from tests.pipeline.conftest import tiny_config


def _run() -> RunEvaluation:
    est = Estimate(0.1, 0.05, 0.15, "Wilson score 95%")
    return RunEvaluation(
        run_id="r1",
        action="invest",
        snapshot_date=None,
        complete=True,
        arms={"treat": ArmFigures("treat", 100, 10, est, 5.0)},
        incremental_conversion=Estimate(0.02, -0.01, 0.05, "Newcombe"),
        incremental_amount=Estimate(3.0, 1.0, 5.0, "bootstrap"),
        mailed_population_rate=Estimate(0.08, 0.06, 0.1, "IPW"),
        model_lift=1.25,
        thresholds=[{"threshold": 0.5, "conversion_if_mailed": est, "mailed_observed": 7}],
    )


def test_figures_follow_the_printed_order() -> None:
    """Arms, the three effects, the lift, each threshold, then model health, in that order."""
    health = [{"run": "r1", "action": "invest", "pr_auc": 0.3}]
    got = [(f.figure, f.value, f.low) for f in _figures([_run()], health)]
    assert got == [
        ("treat conversion", 0.1, 0.05),
        ("incremental conversion", 0.02, -0.01),
        ("incremental amount", 3.0, 1.0),
        ("mailed population conversion", 0.08, 0.06),
        ("model lift", 1.25, None),
        ("conversion at threshold 0.5000", 0.1, 0.05),
        ("health PR-AUC", 0.3, None),
    ]


def test_figures_csv_leaves_missing_bounds_empty(tmp_path: Path) -> None:
    """A figure without an interval is written with empty low and high cells."""
    out = tmp_path / "evaluation" / "figures.csv"
    _write_figures(out, [Figure("r1", "invest", "model lift", 1.25, None, None, "ratio")])
    assert out.read_text().splitlines() == [
        "run,action,figure,value,low,high,method",
        "r1,invest,model lift,1.25,,,ratio",
    ]


def test_nothing_exported_writes_nothing(tiny_store: tuple[Store, Path]) -> None:
    """Without exported runs there is nothing to measure and no file is written."""
    store, path = tiny_store
    result = evaluate_project(store, tiny_config(path), uplift=0.005)
    assert (result.runs, result.figures, result.figures_csv, result.report) == ([], [], None, None)
    assert not (path.parent / "reports").exists()


def _experiment_file(tmp_path: Path) -> Path:
    path = tmp_path / "exp.csv"
    rows = ["arm,bought,spent"]
    rows += [f"control,{b},{s}" for b, s in ((1, 10.0), (0, 0.0), (0, 0.0), (0, 0.0))]
    rows += [f"mail,{b},{s}" for b, s in ((1, 20.0), (1, 10.0), (1, 30.0), (0, 0.0))]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_experiment_effects_per_arm_and_outcome(tmp_path: Path) -> None:
    """Each arm against the control, per outcome, with the plain difference in means."""
    effects = experiment_effects(
        _experiment_file(tmp_path),
        arm_column="arm",
        control="control",
        outcomes=["bought"],
        amounts=["spent"],
    )
    got = [(e.arm, e.outcome, e.n_arm, e.n_control, e.difference_in_means) for e in effects]
    assert got == [("mail", "bought", 4, 4, 0.5), ("mail", "spent", 4, 4, 12.5)]
    assert effects[0].effect.method.startswith("Newcombe")


def test_experiment_without_the_control_arm_says_which_arms_there_are(tmp_path: Path) -> None:
    """A control value no row has is an error naming the arms found."""
    with pytest.raises(
        NotFoundError, match=r"no rows with arm = 'ctrl'; arms are \['control', 'mail'\]"
    ):
        experiment_effects(
            _experiment_file(tmp_path),
            arm_column="arm",
            control="ctrl",
            outcomes=["bought"],
            amounts=[],
        )


def test_fairness_needs_a_run(tiny_store: tuple[Store, Path]) -> None:
    """Fairness over no runs is an error that says to run first."""
    store, path = tiny_store
    with pytest.raises(NotFoundError, match="no runs yet; run 'nextbest run' first"):
        fairness_report(store, tiny_config(path), n_runs=12)
