"""The data profile page: one offline HTML file (Plotly inlined, no CDN) of the loaded data.

Per table: the columns (type, missing share, distinct, range or top values, outliers, drift),
a heatmap of the missing share per column and week, one small panel per numeric column (its
weekly p10/p50/p90 above, the PSI of each week below), the PSI of the boolean and text columns,
the weeks missing; then the quarantine reasons.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go
from markupsafe import Markup
from plotly.subplots import make_subplots

from nextbest.config import Config, output_dir
from nextbest.pipeline._profile import ColumnProfile, DataProfile, TableProfile, profile_store
from nextbest.pipeline._report import figure_div, write_html_page
from nextbest.store import Store

__all__ = ["ProfileReport", "profile_project", "write_profile_report"]

_BAND = "rgba(43, 108, 176, 0.18)"
_LINE = "#2b6cb0"


@dataclass(frozen=True)
class ProfileReport:
    """A data profile and the page written of it."""

    profile: DataProfile
    report: Path


def _weeks(column: ColumnProfile) -> list[str]:
    return [w.week.isoformat() for w in column.weeks]


def _psi_limits(fig: go.Figure, limits: tuple[float, float], **where: int) -> None:
    warn, halt = limits
    fig.add_hline(y=warn, line_dash="dot", line_color="#dd6b20", **where)
    fig.add_hline(y=halt, line_dash="dash", line_color="crimson", **where)


def _numeric_panel(column: ColumnProfile, limits: tuple[float, float]) -> go.Figure:
    """The weekly p10–p90 band and median above, the PSI of each week below."""
    x = _weeks(column)
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.62, 0.38],
        vertical_spacing=0.1,
        subplot_titles=(
            "p10 · p50 · p90 per week",
            "PSI against the first week (bars) and the previous (line)",
        ),
    )
    w = column.weeks
    fig.add_trace(
        go.Scatter(x=x, y=[v.p90 for v in w], name="p90", line={"width": 0}), row=1, col=1
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[v.p10 for v in w],
            name="p10",
            line={"width": 0},
            fill="tonexty",
            fillcolor=_BAND,
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(x=x, y=[v.p50 for v in w], name="p50", line={"color": _LINE}), row=1, col=1
    )
    fig.add_trace(
        go.Bar(x=x, y=[v.psi_first for v in w], name="PSI (first)", marker_color="#718096"),
        row=2,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[v.psi_previous for v in w],
            name="PSI (previous)",
            mode="lines",
            line={"color": "#dd6b20", "width": 1},
        ),
        row=2,
        col=1,
    )
    _psi_limits(fig, limits, row=2, col=1)
    fig.update_layout(title=column.name, showlegend=False)
    return fig


def _missing_heatmap(table: TableProfile) -> go.Figure:
    """The missing share of each column in each period; a missing week is a blank column."""
    cols = list(table.columns)
    weeks = sorted([*table.weeks, *table.missing_weeks])
    z = [
        [share.get(week) for week in weeks]
        for share in ({w.week: w.missing for w in c.weeks} for c in cols)
    ]
    top = max((v for row in z for v in row if v is not None), default=0.0)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[week.isoformat() for week in weeks],
            y=[c.name for c in cols],
            zmin=0,
            zmax=max(top, 0.01),
            colorscale="Reds",
            colorbar={"tickformat": ".0%"},
            hovertemplate="%{y}, %{x}: %{z:.1%} missing<extra></extra>",
            hoverongaps=False,
        )
    )
    fig.update_layout(title=f"Missing share per {table.period} — {table.table}")
    fig.update_yaxes(autorange="reversed")
    return fig


def _categorical_drift(
    columns: Sequence[ColumnProfile], limits: tuple[float, float], table: str
) -> go.Figure:
    """The PSI of each boolean and text column against the first period."""
    fig = go.Figure(
        [
            go.Scatter(x=_weeks(c), y=[w.psi_first for w in c.weeks], name=c.name, mode="lines")
            for c in columns
        ]
    )
    _psi_limits(fig, limits)
    fig.update_layout(
        title=f"Boolean and text columns — PSI against the first period ({table})",
        yaxis_title="PSI",
    )
    return fig


@dataclass(frozen=True)
class _Section:
    """What the page shows of one table."""

    table: TableProfile
    heatmap: Markup
    panels: list[tuple[str, Markup]]
    categorical: Markup | None


def _section(table: TableProfile, limits: tuple[float, float]) -> _Section:
    numeric = [c for c in table.columns if c.kind == "numeric"]
    binned = [c for c in table.columns if c.kind in ("boolean", "text")]
    rows = 1 + len(table.columns)
    return _Section(
        table=table,
        heatmap=figure_div(_missing_heatmap(table), height=min(140 + 24 * rows, 600)),
        panels=[(c.name, figure_div(_numeric_panel(c, limits), height=330)) for c in numeric],
        categorical=(
            figure_div(_categorical_drift(binned, limits, table.table), height=320)
            if binned
            else None
        ),
    )


def _value(v: object) -> str:
    """A min, median or max as the page shows it."""
    if v is None:
        return "–"
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.4g}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def write_profile_report(
    profile: DataProfile, path: Path, *, psi_limits: tuple[float, float] = (0.10, 0.25)
) -> Path:
    """Write the profile page to ``path`` (atomically); ``psi_limits`` are the warn and halt
    lines drawn on the drift plots (the drift check's ``[checks] psi_warn`` and ``psi_halt``)."""
    return write_html_page(
        path,
        "profile_report.html",
        title="nextbest data profile",
        profile=profile,
        sections=[_section(t, psi_limits) for t in profile.tables],
        psi_limits=psi_limits,
        value=_value,
    )


def profile_project(
    store: Store, config: Config, *, out: Path | None = None, tables: list[str] | None = None
) -> ProfileReport:
    """Profile the loaded tables and write the page (default ``reports/profile.html`` in the
    outputs folder, ``[store] outputs``)."""
    profile = profile_store(store, tables=tables)
    path = out or output_dir(config, "reports") / "profile.html"
    limits = (config.checks.psi_warn, config.checks.psi_halt)
    return ProfileReport(profile, write_profile_report(profile, path, psi_limits=limits))
