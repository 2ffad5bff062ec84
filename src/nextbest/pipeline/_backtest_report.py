"""The backtest report: the weekly plots on one offline HTML page, and a CSV of every week."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import plotly.graph_objects as go
from markupsafe import Markup
from plotly.subplots import make_subplots

from nextbest.pipeline._backtest import BacktestResult
from nextbest.pipeline._report import write_html_page


def _volume_traces(fig: go.Figure, result: BacktestResult) -> None:
    """Row 1: selected, above the threshold, mails, and the what-if selections."""
    weeks = [w.week for w in result.weeks]
    fig.add_trace(
        go.Bar(x=weeks, y=[w.selected for w in result.weeks], name="selected"), row=1, col=1
    )
    fig.add_trace(
        go.Scatter(
            x=weeks,
            y=[w.candidates for w in result.weeks],
            name="above the threshold",
            mode="lines+markers",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(x=weeks, y=[w.mails for w in result.weeks], name="mails", mode="lines"),
        row=1,
        col=1,
    )
    for name in result.weeks[0].whatif_selected if result.weeks else {}:
        fig.add_trace(
            go.Scatter(
                x=weeks,
                y=[w.whatif_selected[name] for w in result.weeks],
                name=f"what if {name}",
                mode="lines",
                line={"dash": "dot"},
            ),
            row=1,
            col=1,
        )


def _figure(result: BacktestResult, market: list[tuple[dt.date, float]]) -> go.Figure:
    """Volume, realised precision and the market, one above the other on shared weeks."""
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=(
            "Weekly volume",
            "Realised precision and lift",
            "Market: reference fund price",
        ),
    )
    _volume_traces(fig, result)
    done = [w for w in result.weeks if w.outcome_complete]
    fig.add_trace(
        go.Scatter(
            x=[w.week for w in done],
            y=[w.precision for w in done],
            name="precision (selected)",
            mode="lines+markers",
        ),
        row=2,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=[w.week for w in done],
            y=[w.conv_not_selected for w in done],
            name="conversion (not selected)",
            mode="lines",
        ),
        row=2,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=[d for d, _ in market], y=[p for _, p in market], name="fund price", mode="lines"
        ),
        row=3,
        col=1,
    )
    fig.update_layout(
        height=900, template="plotly_white", title=f"History replay — {result.action}"
    )
    return fig


def write_backtest_report(
    result: BacktestResult, path: Path, *, market: list[tuple[dt.date, float]]
) -> Path:
    """An offline HTML report with the weekly plots, and a CSV of every week beside it."""
    figure = Markup(_figure(result, market).to_html(full_html=False, include_plotlyjs=False))
    write_html_page(
        path, "backtest_report.html", title="nextbest backtest", result=result, figure=figure
    )
    rows = result.rows()
    csv_path = path.with_suffix(".csv")
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["week"])
        writer.writeheader()
        writer.writerows(rows)
    return path
