"""The three HTML reports, rendered from their templates on small hand-made results."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from plotly.offline import get_plotlyjs

from nextbest.config import ActionConfig
from nextbest.pipeline import BacktestResult, BacktestWeek, write_backtest_report
from nextbest.pipeline._evaluation_report import write_evaluation_report
from nextbest.pipeline._report import write_report

D = dt.date(2025, 6, 29)


def _offline(text: str) -> None:
    """Plotly inlined (its script, unescaped), the figures drawn, nothing fetched."""
    assert get_plotlyjs()[:500] in text and "Plotly.newPlot" in text
    assert not re.search(r"<script[^>]+src=", text)
    assert not re.search(r"<link[^>]+href=", text)


def _run_result(action: str) -> Any:
    counts = {
        "customers": 1200,
        "eligible": 900,
        "candidates": 80,
        "selected": 50,
        "treat": 40,
        "holdout": 5,
        "explore": 5,
    }
    outcome = SimpleNamespace(
        action=action,
        model_version="v<1>",
        counts=counts,
        flags=["volume below <min>"],
        ineligible_by_rule={"adult": 200, "opted_in": 100},
        scores=np.array([0.1, 0.2, 0.3]),
    )
    return SimpleNamespace(
        run_id="2025-06-29-r1",
        snapshot_date=D,
        status="ok",
        decision_sha256="ab" * 32,
        outcomes=[outcome],
    )


def test_run_report_shows_the_counts_escaped(tmp_path: Path) -> None:
    """The counts, the rules and the flags of each action, HTML in names escaped."""
    action = ActionConfig(name="a")
    path = write_report(tmp_path / "report.html", _run_result("a"), [action], [])
    text = path.read_text(encoding="utf-8")
    _offline(text)
    assert "<title>nextbest run 2025-06-29-r1</title>" in text
    assert "decision file sha256 <code>abababababababab…</code>" in text
    assert "<td>1200</td><td>900</td><td>80</td><td>50</td><td>40</td><td>5</td><td>5</td>" in text
    assert "<tr><td>adult</td><td>200</td></tr><tr><td>opted_in</td><td>100</td></tr>" in text
    assert "⚑ volume below &lt;min&gt;" in text and "<code>v&lt;1&gt;</code>" in text
    assert "Score distribution of the eligible customers" in text
    assert "Calibration on the evaluation weeks" not in text  # no trained model given


def _interval(value: float) -> Any:
    return SimpleNamespace(value=value, low=value - 0.01, high=value + 0.02)


def test_evaluation_report_has_one_figure_per_part(tmp_path: Path) -> None:
    """Arms and uplift from the runs, calibration and lift from health, one figure per
    grouping with a selection rate."""
    run = SimpleNamespace(
        run_id="r1",
        snapshot_date=D,
        arms={"treat": SimpleNamespace(arm="treat", conversion=_interval(0.05))},
        incremental_conversion=_interval(0.01),
    )
    health = [
        {
            "run": "r1",
            "calibration": [{"mean_score": 0.1, "rate": 0.12}],
            "lift_curve": [(0.1, 2.0)],
        }
    ]
    groups = [
        {
            "grouping": "age band",
            "group": "18-29",
            "legal_pass_rate": 0.9,
            "selection_rate_among_legal": 0.1,
        },
        {
            "grouping": "gender",
            "group": "f",
            "legal_pass_rate": 0.9,
            "selection_rate_among_legal": None,
        },
    ]
    path = write_evaluation_report(tmp_path / "report.html", [run], health, groups)
    text = path.read_text(encoding="utf-8")
    _offline(text)
    assert text.count('class="plotly-graph-div"') == 5
    assert "Incremental conversion (treat" in text and "Selection by age band" in text
    assert "Selection by gender" not in text  # its only group has no selection rate


def test_backtest_report_summary_and_csv(tmp_path: Path) -> None:
    """The summary figures formatted, the expectations with their violations, a CSV beside."""
    week = BacktestWeek(
        **{
            **dict.fromkeys(BacktestWeek.__dataclass_fields__, 0),
            "week": D,
            "model_trained_until": D,
            "selected": 1234,
            "whatif_selected": {"lower": 2000},
        }
    )
    result = BacktestResult(
        action="a<b>",
        weeks=[week],
        summary={
            "weeks": 1,
            "first_week": D,
            "last_week": D,
            "max_weekly_volume": 1234,
            "median_weekly_volume": 1234,
            "max_to_median": 1.0,
            "weeks_outside_bounds": 0,
            "total_mails": 12345,
            "worst_weeks": [{"week": "2025-06-29", "why": "x < y"}],
        },
        expectations=[
            {"expect": "volume in band", "passed": False, "violations": ["w1", "w2"]},
            {"expect": "no halt", "passed": True, "violations": []},
        ],
        seconds=0.0,
    )
    path = write_backtest_report(result, tmp_path / "backtest.html", market=[(D, 1.0)])
    text = path.read_text(encoding="utf-8")
    _offline(text)
    assert "<h1>History replay — a&lt;b&gt;</h1>" in text
    assert "weekly volume max 1,234, median 1,234 (max/median 1.00)" in text
    assert "12,345 mails in all" in text
    assert "<li><b>2025-06-29</b>: x &lt; y</li>" in text
    assert "<li>✗ volume in band: w1; w2</li>" in text and "<li>✓ no halt</li>" in text
    csv_text = (tmp_path / "backtest.csv").read_text(encoding="utf-8")
    assert csv_text.splitlines()[0].endswith("whatif:lower") and ",1234," in csv_text


def test_calibration_figure_draws_the_diagonal_past_the_largest_value() -> None:
    """One calibration figure for the run and the evaluation report: bands as drawn, and the
    diagonal to 1.05 × the largest mean score or rate (0.4 here → 0.42)."""
    from nextbest.pipeline._figures import calibration_figure

    bands = [{"mean_score": 0.1, "rate": 0.05}, {"mean_score": 0.3, "rate": 0.4}]
    fig = calibration_figure(bands, series="s", title="t", xaxis_title="x", yaxis_title="y")
    diagonal, model = fig.data
    assert list(diagonal.x) == list(diagonal.y) == [0, pytest.approx(0.42)]
    assert list(model.x) == [0.1, 0.3] and list(model.y) == [0.05, 0.4]
    assert model.name == "s" and fig.layout.title.text == "t"
    empty = calibration_figure([], series="s", title="t", xaxis_title="x", yaxis_title="y")
    assert list(empty.data[0].x) == [0, pytest.approx(1.05e-6)]
