"""The measurement report: one self-contained HTML page (Plotly inlined, opens offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from nextbest.pipeline._figures import calibration_figure
from nextbest.pipeline._report import figure_div, write_html_page


def _error_bars(values: list[Any]) -> dict[str, Any]:
    """Asymmetric error bars of intervals with ``value``, ``low`` and ``high``."""
    return {
        "type": "data",
        "symmetric": False,
        "array": [v.high - v.value for v in values],
        "arrayminus": [v.value - v.low for v in values],
    }


def _arm_figures(runs: list[Any]) -> list[go.Figure]:
    """Conversion per arm of the latest run, and the uplift of every run over time."""
    latest = runs[-1]
    arms = list(latest.arms.values())
    conversion = go.Figure(
        go.Bar(
            x=[a.arm for a in arms],
            y=[a.conversion.value for a in arms],
            error_y=_error_bars([a.conversion for a in arms]),
        )
    )
    conversion.update_layout(
        title=f"Conversion per arm, {latest.run_id} (Wilson 95%)",
        yaxis_title="conversion in the window",
    )
    per_run = [r for r in runs if r.run_id != "pooled"]
    uplift = go.Figure(
        go.Scatter(
            x=[str(r.snapshot_date) for r in per_run],
            y=[r.incremental_conversion.value for r in per_run],
            mode="markers+lines",
            error_y=_error_bars([r.incremental_conversion for r in per_run]),
        )
    )
    uplift.add_hline(y=0, line_dash="dot", line_color="gray")
    uplift.update_layout(
        title="Incremental conversion (treat − holdout, Newcombe 95%) per run",
        yaxis_title="uplift",
    )
    return [conversion, uplift]


def _health_figures(h: dict[str, Any]) -> list[go.Figure]:
    """Calibration and lift of the model from the outcomes of one run."""
    calibration = calibration_figure(
        h["calibration"],
        series="score deciles",
        title=f"Calibration from outcomes, {h['run']} (unmailed eligible)",
        xaxis_title="mean score",
        yaxis_title="realised conversion",
    )
    pts = h["lift_curve"]
    lift = go.Figure(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers"))
    lift.add_hline(y=1, line_dash="dot", line_color="gray")
    lift.update_layout(
        title=f"Lift curve from outcomes, {h['run']}",
        xaxis_title="share targeted, highest scores first",
        yaxis_title="lift",
    )
    return [calibration, lift]


def _group_figure(grouping: str, rows: list[dict[str, Any]]) -> go.Figure:
    """The legal pass rate and the selection rate among those who pass, per group."""
    groups = [str(g["group"]) for g in rows]
    fig = go.Figure(
        [
            go.Bar(x=groups, y=[g["legal_pass_rate"] for g in rows], name="pass the legal rules"),
            go.Bar(
                x=groups,
                y=[g["selection_rate_among_legal"] for g in rows],
                name="selected, among those",
                yaxis="y2",
            ),
        ]
    )
    fig.update_layout(
        title=f"Selection by {grouping}",
        barmode="group",
        yaxis={"title": "legal pass rate"},
        yaxis2={"title": "selection rate", "overlaying": "y", "side": "right"},
    )
    return fig


def write_evaluation_report(
    path: Path,
    runs: list[Any],
    health: list[dict[str, Any]],
    groups: list[dict[str, Any]],
) -> Path:
    """Conversion per arm with intervals, uplift over time, calibration, lift curve, and
    selection rates per group."""
    figs = _arm_figures(runs) if runs else []
    if health:
        figs += _health_figures(health[-1])
    for grouping in ("gender", "age band", "segment"):
        rows = [
            g
            for g in groups
            if g["grouping"] == grouping and g["selection_rate_among_legal"] is not None
        ]
        if rows:
            figs.append(_group_figure(grouping, rows))
    return write_html_page(
        path,
        "evaluation_report.html",
        title="nextbest evaluation",
        figures=[figure_div(f, height=360) for f in figs],
    )
