"""One way to open a project (store + config with the knobs), and past runs read with the
config they were decided with."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from nextbest.config import Config
from nextbest.errors import NotFoundError, RunStateError
from nextbest.evaluation import evaluate_runs
from nextbest.pipeline import (
    decide_review,
    explain_customer,
    export_run,
    open_project,
    record_skipped,
    review,
    run_config,
    run_week,
    set_knob,
)
from nextbest.store import Store
from tests.pipeline._tiny import write_tiny_project
from tests.pipeline.conftest import D

ACTION = "invest-onboarding"
NEXT = D + dt.timedelta(weeks=1)


def _knob(store: Store, cfg: Config, knob: str, value: str) -> None:
    set_knob(store, cfg, ACTION, knob, value, actor="ana", reason="test")


def _copy_week(store: Store) -> None:
    """Deliver the next week as a copy of this one."""
    store.execute(
        "INSERT INTO snapshots SELECT * REPLACE (CAST(? AS DATE) AS snapshot_date) "
        "FROM snapshots WHERE snapshot_date = ?",
        [NEXT, D],
    )


def test_open_project_gives_the_config_with_the_knobs(tmp_path: Path) -> None:
    """The project's config is the TOML with the operator's knobs applied, read-write and
    read-only alike; the TOML file itself is unchanged."""
    toml = write_tiny_project(tmp_path)
    with open_project(toml) as project:
        _knob(project.store, project.config, "threshold", "0.3")
        _knob(project.store, project.config, "max_weekly", "5")
    with open_project(toml, read_only=True) as project:
        action = project.config.action(ACTION)
        assert (action.threshold, action.max_weekly) == (0.3, 5)
        assert project.config.source_path == toml.source_path
    assert (toml.action(ACTION).threshold, toml.action(ACTION).max_weekly) == (0.2, 2)


def test_run_config_is_what_the_run_used(tmp_path: Path) -> None:
    """After a knob change the run's recorded config still holds the old threshold, and a new
    run records the new one; unknown and skipped runs say why they have none."""
    toml = write_tiny_project(tmp_path)
    with open_project(toml) as project:
        first = run_week(project.store, project.config).run_id
        _knob(project.store, project.config, "threshold", "0.3")
    with open_project(toml) as project:
        _copy_week(project.store)
        second = run_week(project.store, project.config, day=NEXT).run_id
        assert run_config(project.store, first).action(ACTION).threshold == 0.2
        assert run_config(project.store, second).action(ACTION).threshold == 0.3
        assert project.run_config(first).source_path == toml.source_path
        with pytest.raises(NotFoundError, match="no run 'nope'"):
            run_config(project.store, "nope")
        skipped = record_skipped(
            project.store, project.config, NEXT + dt.timedelta(weeks=1), "disabled"
        )
        with pytest.raises(RunStateError, match=f"run {skipped} is skipped: it has no config"):
            run_config(project.store, skipped)


def test_a_past_run_is_explained_with_its_own_threshold(tmp_path: Path) -> None:
    """Customer 101 scored 0.5 against the run's threshold 0.2; after the threshold knob goes
    to 0.3 the explanation of that run still says 0.2, and its review the band 2–2."""
    toml = write_tiny_project(tmp_path)
    with open_project(toml) as project:
        rid = run_week(project.store, project.config).run_id
        _knob(project.store, project.config, "threshold", "0.3")
        _knob(project.store, project.config, "max_weekly", "5")
    with open_project(toml) as project:
        info = explain_customer(project.store, project.config, rid, 101)
        settings = review(project.store, rid).settings[ACTION]
    (why,) = info.actions
    assert (why.action, round(why.score, 4), why.threshold, why.rank) == (ACTION, 0.5, 0.2, 1)
    assert (settings.threshold, settings.min_weekly, settings.max_weekly) == (0.2, 2, 2)


def test_evaluation_uses_each_runs_threshold(tmp_path: Path) -> None:
    """The IPW threshold grid of an exported run is 0.5×…2× the threshold that run used
    (0.2 → 0.1, 0.15, 0.2, 0.3, 0.4), not today's knob (0.4)."""
    toml = write_tiny_project(tmp_path)
    with open_project(toml) as project:
        rid = run_week(project.store, project.config).run_id
        decide_review(project.store, rid, approve=True, actor="ben", comment="ok")
        export_run(project.store, project.config, rid, actor="ben")
        _knob(project.store, project.config, "threshold", "0.4")
    with open_project(toml) as project:
        (result,) = evaluate_runs(project.store, project.config)
    assert [t["threshold"] for t in result.thresholds] == pytest.approx([0.1, 0.15, 0.2, 0.3, 0.4])
