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
