"""A project, not a folder of surprises: without a config the commands that touch a project stop,
and the ones that need none keep working."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nextbest.cli import app
from nextbest.config import ActionConfig, TrainingConfig, load_config, output_dir
from nextbest.errors import ConfigError, NotFoundError
from nextbest.pipeline import CONFIG_TEMPLATE, check_history, minimum_history
from nextbest.simulate import simulate_bank
from tests.pipeline._tiny import write_tiny_project

runner = CliRunner()


@pytest.fixture
def empty_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder, with no $NEXTBEST_CONFIG."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("NEXTBEST_CONFIG", raising=False)
    return work


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["profile"],
        ["replay", "2025-01-05-r1"],
        ["ingest"],
        ["ingest", "snapshots"],
        ["quarantine"],
        ["runs"],
        ["train"],
        ["run"],
        ["features"],
        ["serve"],
        ["knobs", "show"],
        ["evaluate"],
        ["simulate-outcomes", "2025-01-05-r1"],
    ],
)
def test_a_project_command_without_a_config_stops_and_creates_nothing(
    empty_dir: Path, args: list[str]
) -> None:
    """With no --config, no $NEXTBEST_CONFIG and no ./nextbest.toml, the command exits 2 with
    the way out and leaves the folder empty (it used to create ./nextbest-data)."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    expected = (
        f"no nextbest.toml here (in {empty_dir}); run `nextbest init DIR` to create a project, "
        "or pass --config FILE"
    )
    assert expected in " ".join(result.output.split())
    assert list(empty_dir.iterdir()) == []


def test_commands_that_need_no_project_work_without_one(empty_dir: Path) -> None:
    """init, api-token, --help, features --describe, inspect FILE and a leakage hunt on a file run
    in a folder with no config."""
    assert runner.invoke(app, ["--help"]).exit_code == 0
    assert runner.invoke(app, ["api-token", "ana", "viewer"]).exit_code == 0
    described = runner.invoke(app, ["features", "--describe"])
    assert described.exit_code == 0, described.output
    assert "engagement" in described.output
    table = empty_dir / "t.csv"
    table.write_text(
        "week,x,bought\n"
        + "".join(f"{w},{(w * 7 + i) % 5},{i % 2}\n" for w in range(6) for i in range(6))
    )
    hunted = runner.invoke(
        app, ["leakage", str(table), "--time-column", "week", "--target", "bought"]
    )
    assert hunted.exit_code in (0, 1), hunted.output
    assert "t.csv: 36 rows, 6 periods" in hunted.output
    inspected = runner.invoke(app, ["inspect", str(table)])
    assert inspected.exit_code == 0, inspected.output
    assert sorted(p.name for p in empty_dir.iterdir()) == ["t.csv"]
    made = runner.invoke(app, ["init", "bank-project"])
    assert made.exit_code == 0, made.output
    assert "Training needs at least 41 weekly snapshots" in " ".join(made.output.split())
    assert (empty_dir / "bank-project" / "nextbest.toml").is_file()


def test_an_explicit_config_or_the_environment_is_a_project(
    empty_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$NEXTBEST_CONFIG or ./nextbest.toml make the folder a project: status runs."""
    assert runner.invoke(app, ["init", "p"]).exit_code == 0
    monkeypatch.setenv("NEXTBEST_CONFIG", str(empty_dir / "p" / "nextbest.toml"))
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    monkeypatch.delenv("NEXTBEST_CONFIG")
    monkeypatch.chdir(empty_dir / "p")
    assert runner.invoke(app, ["status"]).exit_code == 0


# -- the minimum history -------------------------------------------------------------------------
def _weeks(n: int) -> list[dt.date]:
    return [dt.date(2025, 2, 16) + dt.timedelta(weeks=i) for i in range(n)]


def test_the_minimum_history_of_a_small_setting_by_hand() -> None:
    """n_dates 3, history_weeks 0, label_weeks 1: the dates before the last week are usable;
    three of them one week apart fill train, calibration and evaluation with 1-week gaps, so 4
    weeks (3 usable + the last label week) are the minimum. Two dates never fill three slices."""
    need = minimum_history(TrainingConfig(n_dates=3, history_weeks=0), label_weeks=1)
    assert (need.weeks, need.span_weeks) == (4, 3)
    never = minimum_history(TrainingConfig(n_dates=2, history_weeks=0), label_weeks=1)
    assert never.weeks is None
    action = ActionConfig(name="invest-onboarding", label_weeks=1)
    with pytest.raises(NotFoundError, match=r"raise \[training\] n_dates \(now 2\) to 3 or more"):
        check_history(_weeks(50), TrainingConfig(n_dates=2, history_weeks=0), action)


def test_the_default_settings_need_41_weeks() -> None:
    """With the defaults (n_dates 20, history_weeks 8, label_weeks 8) 41 weekly snapshots train
    and 40 do not; the error for 20 weeks says both numbers and never advises raising n_dates,
    which is already 20."""
    action = ActionConfig(name="invest-onboarding")
    check_history(_weeks(41), TrainingConfig(), action)
    with pytest.raises(NotFoundError, match="needs at least 41 weekly snapshots"):
        check_history(_weeks(40), TrainingConfig(), action)
    with pytest.raises(NotFoundError) as short:
        check_history(_weeks(20), TrainingConfig(), action)
    assert str(short.value) == (
        "training invest-onboarding needs at least 41 weekly snapshots ([training] "
        "history_weeks 8 + 25 weeks from the first training date to the last evaluation date, "
        "with two 8-week gaps + label_weeks 8 of the action for the last label to be known); "
        "the store has 20 (2025-02-16 … 2025-06-29). Load more weeks, or lower [training] "
        "history_weeks or the action's label_weeks"
    )
    assert "n_dates" not in str(short.value)


def test_missing_weeks_are_named() -> None:
    """30 snapshots over 32 weeks (two weeks never delivered): the message counts them."""
    held = [d for i, d in enumerate(_weeks(32)) if i not in (10, 11)]
    with pytest.raises(NotFoundError) as short:
        check_history(held, TrainingConfig(), ActionConfig(name="invest-onboarding"))
    assert "the store has 30 (2025-02-16 … 2025-09-21), 2 week(s) missing between them." in str(
        short.value
    )


def test_train_on_20_weeks_says_how_many_are_needed(tmp_path: Path) -> None:
    """`nextbest train` on a bank of 20 weekly snapshots stops (exit 2) before any work with the
    weeks needed and held, first and last."""
    bank = tmp_path / "bank"
    simulate_bank(bank, n_customers=200, n_weeks=20, seed=3, faults=False, truth=False)
    config = tmp_path / "nextbest.toml"
    config.write_text(
        '[store]\npath = "store.duckdb"\n'
        '[sources.snapshots]\npath = "bank/snapshots"\n'
        '[sources.market]\npath = "bank/market"\n'
        '[sources.conversions]\npath = "bank/conversions"\n'
    )
    assert runner.invoke(app, ["-c", str(config), "ingest"]).exit_code == 0
    result = runner.invoke(app, ["-c", str(config), "train"])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "training invest-onboarding needs at least 41 weekly snapshots" in text
    assert "the store has 20 (" in text


def test_the_starter_config_and_the_docs_state_the_computed_minimum() -> None:
    """The 41 weeks (8 + 25 + 8) written in the starter config and in docs/configuration.md are
    what the training code needs; history_weeks = 0 needs 33."""
    need = minimum_history(TrainingConfig(), label_weeks=8)
    assert (need.weeks, need.span_weeks) == (41, 25)
    assert minimum_history(TrainingConfig(history_weeks=0), label_weeks=8).weeks == 33
    template = " ".join(CONFIG_TEMPLATE.split())
    assert "training needs # 41 weekly snapshots (history_weeks 8 + 25 weeks" in template
    docs = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text()
    assert "**41 weekly snapshots**: 8 + 25 + 8" in docs
    assert "(`history_weeks = 0`: 33)" in docs


# -- outputs apart from inputs -------------------------------------------------------------------
def _set_outputs(config: Path, outputs: str | None) -> None:
    """Rewrite the [store] section of the tiny project's config with ``outputs`` (None: the
    default)."""
    line = "" if outputs is None else f'outputs = "{outputs}"\n'
    text = config.read_text().split("\n[features]", 1)[1]
    config.write_text(f'[store]\npath = "tiny.duckdb"\n{line}\n[features]{text}')


def _cli(config: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["-c", str(config), *args])
    return result.exit_code, " ".join(result.output.split())


def _approved_run(tmp_path: Path) -> Path:
    """The tiny project with its week run by ana and approved by ben (run 2025-03-02-r1)."""
    config = write_tiny_project(tmp_path).source_path
    assert config is not None
    assert _cli(config, "run", "--by", "ana")[0] == 0
    assert _cli(config, "approve", "2025-03-02-r1", "--by", "ben")[0] == 0
    return config


def test_handoff_files_go_to_the_outputs_folder(tmp_path: Path) -> None:
    """By default the hand-off files are in nextbest-out/handoffs/<run>/ beside the config, not
    in an exports/ folder that an input glob may read."""
    config = _approved_run(tmp_path)
    code, out = _cli(config, "export", "2025-03-02-r1", "--by", "ben")
    assert code == 0, out
    folder = tmp_path / "nextbest-out" / "handoffs" / "2025-03-02-r1"
    assert sorted(p.name for p in folder.iterdir()) == [
        "handoff.csv",
        "handoff.parquet",
        "stops.csv",
    ]
    assert not (tmp_path / "exports").exists()
    cfg = load_config(config)
    assert output_dir(cfg, "handoffs") == tmp_path / "nextbest-out" / "handoffs"
    assert output_dir(cfg, "reports") == tmp_path / "nextbest-out" / "reports"


def test_a_run_exported_before_the_outputs_moved_is_verified_where_it_was(
    tmp_path: Path,
) -> None:
    """Exported with outputs = "old", then outputs set back to the default: exporting again
    checks the recorded files in old/ and rewrites a missing one there, nothing in the new
    folder."""
    config = _approved_run(tmp_path)
    _set_outputs(config, "old")
    assert _cli(config, "export", "2025-03-02-r1", "--by", "ben")[0] == 0
    old = tmp_path / "old" / "handoffs" / "2025-03-02-r1"
    (old / "stops.csv").unlink()
    _set_outputs(config, None)
    code, out = _cli(config, "export", "2025-03-02-r1", "--by", "ben")
    assert code == 0, out
    assert "already exported; nothing sent twice" in out and "rewrote stops.csv" in out
    assert (old / "stops.csv").is_file()
    assert not (tmp_path / "nextbest-out").exists()


@pytest.mark.parametrize(
    ("outputs", "path"),
    [
        ("exports", "exports/klant_snapshot_*.csv"),
        ("exports", "exports"),
        ("nextbest-out", "nextbest-out/handoffs/*/handoff.csv"),
        ("out", "*/handoffs/*/*.csv"),
    ],
)
def test_an_input_path_into_the_outputs_folder_is_refused(
    tmp_path: Path, outputs: str, path: str
) -> None:
    """A source whose path can match files inside the outputs folder is a config error naming
    both settings."""
    config = tmp_path / "nextbest.toml"
    config.write_text(f'[store]\noutputs = "{outputs}"\n[sources.snapshots]\npath = "{path}"\n')
    with pytest.raises(ConfigError) as refused:
        load_config(config)
    assert str(refused.value) == (
        f"{config}: [sources.snapshots] path = '{path}' can match files inside the outputs "
        f"folder ([store] outputs = '{outputs}', {tmp_path / outputs}), where nextbest writes "
        "hand-off files and reports; keep the two apart: set [store] outputs to another "
        "folder (default 'nextbest-out') or narrow the path"
    )


@pytest.mark.parametrize(
    ("outputs", "path"),
    [
        ("nextbest-out", "exports/klant_snapshot_*.csv"),
        ("exports/out", "exports"),  # a folder source reads its own files, not its subfolders
        ("out", "*.csv"),
        ("out", "bank/*/snap.csv"),
    ],
)
def test_input_paths_apart_from_the_outputs_load(tmp_path: Path, outputs: str, path: str) -> None:
    """Paths that cannot reach into the outputs folder are accepted."""
    config = tmp_path / "nextbest.toml"
    config.write_text(f'[store]\noutputs = "{outputs}"\n[sources.snapshots]\npath = "{path}"\n')
    assert load_config(config).sources.snapshots is not None
