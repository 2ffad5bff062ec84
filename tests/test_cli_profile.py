"""``nextbest profile``: the one-screen summary, with the figures of a small project."""

from __future__ import annotations

import math
from pathlib import Path

from typer.testing import CliRunner

from nextbest.cli import app
from tests.pipeline._profile_data import write_profile_project

runner = CliRunner()
FLOOR = 1e-4


def test_profile_prints_the_summary_and_writes_the_page(tmp_path: Path) -> None:
    """Tables, the most missing and drifting columns, missing weeks, quarantine, the page."""
    config = write_profile_project(tmp_path / "project")
    out = tmp_path / "out" / "profile.html"
    result = runner.invoke(app, ["-c", str(config), "profile", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    snapshots = next(line for line in lines if line.startswith("│ snapshots"))
    cells = [cell.strip() for cell in snapshots.split("│")[1:-1]]
    assert cells == ["snapshots", "12", "3 (snapshot date)", "2025-01-05", "2025-01-26", "1", "1"]
    assert "  snapshots.ib_logins_4w: 16.67% (worst 2025-01-12: 50.0%)" in lines
    price = 2 * (0.5 - FLOOR) * math.log(0.5 / FLOOR) + (1 - FLOOR) * math.log(1 / FLOOR)
    balance = 6 * (0.25 - FLOOR) * math.log(0.25 / FLOOR) + (0.5 - FLOOR) * math.log(0.5 / FLOOR)
    assert f"  market_prices.price: {price:.3f} on 2025-01-20" in lines
    assert f"  snapshots.total_balance: {balance:.3f} on 2025-01-26" in lines
    assert "  snapshots: 2025-01-19" in lines and "  market_prices: 2025-01-13" in lines
    assert "Quarantine: 1 row(s) for 1 reason(s)." in lines
    assert "  snapshots.age range: outside 0..120: 1 (e.g. '150')" in lines
    assert lines[-1].startswith(f"wrote {out} (profiled in ")
    assert out.read_text(encoding="utf-8").count("<div class=panel ") == 5


def test_profile_refuses_a_page_that_is_not_html(tmp_path: Path) -> None:
    """--out must name an HTML file; an unknown table gets a did-you-mean."""
    config = write_profile_project(tmp_path / "project")
    bad = runner.invoke(app, ["-c", str(config), "profile", "--out", str(tmp_path / "p.pdf")])
    assert bad.exit_code == 2 and "--out must end in .html" in bad.output
    wrong = runner.invoke(app, ["-c", str(config), "profile", "--table", "snapshot"])
    assert wrong.exit_code == 2
    assert "no table 'snapshot' to profile. Did you mean 'snapshots'?" in wrong.output
