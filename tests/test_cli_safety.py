"""The command line on the tiny bank: review and show read a past run with its own config,
today's runs with the knobs, and whatever users typed is printed as inert text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from nextbest.cli import app
from nextbest.config import Config
from nextbest.store import open_store
from tests.pipeline._tiny import write_tiny_project
from tests.pipeline.conftest import D

NEXT = D + dt.timedelta(weeks=1)
R1, R2 = f"{D.isoformat()}-r1", f"{NEXT.isoformat()}-r1"


def _cli(cfg: Config, *args: str) -> Result:
    result = CliRunner().invoke(app, ["-c", str(cfg.source_path), *args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def two_runs(tmp_path: Path) -> Config:
    """Run r1 of D with the TOML (threshold 0.2, band 2–2); then the knobs go to threshold 0.3
    and max_weekly 3, and the next week (a copy of D) runs with them."""
    cfg = write_tiny_project(tmp_path)
    _cli(cfg, "run")
    _cli(cfg, "knobs", "set", "invest-onboarding.threshold=0.3", "--by", "ana", "--reason", "x")
    _cli(cfg, "knobs", "set", "invest-onboarding.max_weekly=3", "--by", "ana", "--reason", "y")
    with open_store(cfg) as store:
        store.execute(
            "INSERT INTO snapshots SELECT * REPLACE (CAST(? AS DATE) AS snapshot_date) "
            "FROM snapshots WHERE snapshot_date = ?",
            [NEXT, D],
        )
    _cli(cfg, "run", "--date", NEXT.isoformat())
    return cfg


def test_review_shows_each_runs_own_band(two_runs: Config) -> None:
    """The review of r1 shows the band it was decided with (2–2); the review of the run made
    after the knob change shows the knob's band (2–3), not the TOML's."""
    assert "(band 2–2)" in _cli(two_runs, "review", R1).output
    assert "(band 2–3)" in _cli(two_runs, "review", R2).output


def test_show_customer_of_a_past_run_uses_its_threshold(two_runs: Config) -> None:
    """`show r1 --customer 101` explains the score against r1's threshold 0.2; the newer run
    against the knob's 0.3."""
    assert (
        "0.5000 (threshold 0.2), rank 1" in _cli(two_runs, "show", R1, "--customer", "101").output
    )
    assert (
        "0.5000 (threshold 0.3), rank 1" in _cli(two_runs, "show", R2, "--customer", "101").output
    )


def test_typed_text_is_printed_inert(tmp_path: Path) -> None:
    """A comment that clears the screen and paints a green "all checks passed", a name with a
    bell and markup, and a knob reason with markup come back literally: no control byte, the
    brackets as typed."""
    cfg = write_tiny_project(tmp_path)
    _cli(cfg, "run")
    comment = "\x1b[2J[green]all checks passed[/green]\x9b31m"
    _cli(cfg, "approve", R1, "--by", "ana\x07[bold]x[/bold]", "--comment", comment)
    out = _cli(cfg, "review", R1).output
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "\x9b" not in out
    assert "[2J[green]all checks passed[/green]31m" in out
    assert "approved by ana[bold]x[/bold]:" in out
    _cli(
        cfg,
        "knobs",
        "set",
        "invest-onboarding.threshold=0.3",
        "--by",
        "[red]ana",
        "--reason",
        "[link=http://x]why[/link]\r",
    )
    out = _cli(cfg, "knobs", "show").output
    assert "by [red]ana: [link=http://x]why[/link]" in out
    assert "\r" not in out


def test_inert_removes_what_a_terminal_acts_on() -> None:
    """ESC, CR, BEL, DEL, the C1 CSI and a right-to-left override go; tab, newline and ordinary
    text (accents, ✓, brackets) stay."""
    from nextbest.cli import inert, styled

    assert inert("a\x1b[31mb\rc\x07d\x7fe\x9bf\u202eg\th\ni é ✓ [x]") == "a[31mbcdefg\th\ni é ✓ [x]"
    assert styled("[bold]{}[/] {:,}", "[red]r1\x1b", 1200).plain == "[red]r1 1,200"


def test_file_system_errors_are_one_line_not_a_traceback(tmp_path: Path) -> None:
    """init over an existing file, and a report to a folder that cannot hold it: one line
    naming the path, exit 2."""
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = CliRunner().invoke(app, ["init", str(afile)])
    assert result.exit_code == 2
    assert "is a file, not a folder" in " ".join(result.output.split())
    cfg = write_tiny_project(tmp_path / "proj")
    result = CliRunner().invoke(
        app, ["-c", str(cfg.source_path), "profile", "--out", "/proc/nextbest/x.html"]
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "/proc/nextbest" in result.output


def test_training_weeks_without_a_conversion_say_so() -> None:
    """A model needs converted and not-converted customers in every slice of weeks."""
    import numpy as np

    from nextbest.errors import NotFoundError
    from nextbest.models._train import _both_outcomes
    from nextbest.models._train import time_split as split_of

    days = [dt.date(2024, 1, 7) + dt.timedelta(weeks=i) for i in range(30)]
    split = split_of(days, gap_weeks=2)
    y = {"train": np.zeros(5, np.int8), "calibration": np.array([0, 1], np.int8)}
    with pytest.raises(NotFoundError, match=r"in the train weeks \(2024-01-07 … .*no customer"):
        _both_outcomes("invest-onboarding", "opens an account", split, y)
