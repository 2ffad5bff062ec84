"""A project, not a folder of surprises: without a config the commands that touch a project stop,
and the ones that need none keep working."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nextbest.cli import app

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
    """init, api-token, --help, features --describe and a leakage hunt on a file run in a folder
    with no config."""
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
    assert "t.csv: 36 rows on 6 dates" in hunted.output
    assert sorted(p.name for p in empty_dir.iterdir()) == ["t.csv"]
    made = runner.invoke(app, ["init", "bank-project"])
    assert made.exit_code == 0, made.output
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
