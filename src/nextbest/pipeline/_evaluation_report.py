"""The measurement report: one self-contained HTML page (Plotly inlined, opens offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from nextbest.pipeline._report import figure_div, write_html_page


def write_evaluation_report(
    path: Path,
    runs: list[Any],
    health: list[dict[str, Any]],
    groups: list[dict[str, Any]],
) -> Path:
    """Conversion per arm with intervals, uplift over time, calibration, lift curve, and
    selection rates per group."""
    figs = []
    if runs:
        latest = runs[-1]
        arms = list(latest.arms.values())
        fig = go.Figure(
            go.Bar(
                x=[a.arm for a in arms],
                y=[a.conversion.value for a in arms],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [a.conversion.high - a.conversion.value for a in arms],
                    "arrayminus": [a.conversion.value - a.conversion.low for a in arms],
                },
            )
        )
        fig.update_layout(
            title=f"Conversion per arm, {latest.run_id} (Wilson 95%)",
            yaxis_title="conversion in the window",
        )
        figs.append(fig)
        per_run = [r for r in runs if r.run_id != "pooled"]
        fig = go.Figure(
            go.Scatter(
                x=[str(r.snapshot_date) for r in per_run],
                y=[r.incremental_conversion.value for r in per_run],
                mode="markers+lines",
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [
                        r.incremental_conversion.high - r.incremental_conversion.value
                        for r in per_run
                    ],
                    "arrayminus": [
                        r.incremental_conversion.value - r.incremental_conversion.low
                        for r in per_run
                    ],
                },
            )
        )
        fig.add_hline(y=0, line_dash="dot", line_color="gray")
        fig.update_layout(
            title="Incremental conversion (treat − holdout, Newcombe 95%) per run",
            yaxis_title="uplift",
        )
        figs.append(fig)
    if health:
        h = health[-1]
        bands = h["calibration"]
        top = max(max(b["mean_score"] for b in bands), max(b["rate"] for b in bands)) * 1.05
        fig = go.Figure(
            [
                go.Scatter(
                    x=[0, top],
                    y=[0, top],
                    mode="lines",
                    name="perfect",
                    line={"dash": "dash", "color": "gray"},
                ),
                go.Scatter(
                    x=[b["mean_score"] for b in bands],
                    y=[b["rate"] for b in bands],
                    mode="lines+markers",
                    name="score deciles",
                ),
            ]
        )
        fig.update_layout(
            title=f"Calibration from outcomes, {h['run']} (unmailed eligible)",
            xaxis_title="mean score",
            yaxis_title="realised conversion",
        )
        figs.append(fig)
        pts = h["lift_curve"]
        fig = go.Figure(
            go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers")
        )
        fig.add_hline(y=1, line_dash="dot", line_color="gray")
        fig.update_layout(
            title=f"Lift curve from outcomes, {h['run']}",
            xaxis_title="share targeted, highest scores first",
            yaxis_title="lift",
        )
        figs.append(fig)
    for grouping in ("gender", "age band", "segment"):
        rows = [
            g
            for g in groups
            if g["grouping"] == grouping and g["selection_rate_among_legal"] is not None
        ]
        if not rows:
            continue
        fig = go.Figure(
            [
                go.Bar(
                    x=[str(g["group"]) for g in rows],
                    y=[g["legal_pass_rate"] for g in rows],
                    name="pass the legal rules",
                ),
                go.Bar(
                    x=[str(g["group"]) for g in rows],
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
        figs.append(fig)
    body = (
        "<h1>nextbest — what the runs achieved</h1>"
        "<p>Intervals: Wilson for rates, Newcombe for differences of rates, bootstrap for "
        "amounts; selection rates use the audit-only table for gender.</p>"
        + "".join(figure_div(f, height=360) for f in figs)
    )
    return write_html_page(
        path,
        title="nextbest evaluation",
        body=body,
        css="body{font-family:system-ui,sans-serif;max-width:1100px;margin:2rem auto}",
    )
