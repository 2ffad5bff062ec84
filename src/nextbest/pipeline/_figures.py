"""Figures that more than one report draws (Plotly, rendered offline by the templates)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go


def calibration_figure(
    bands: Sequence[Mapping[str, Any]],
    *,
    series: str,
    title: str,
    xaxis_title: str,
    yaxis_title: str,
) -> go.Figure:
    """Mean score against the realised rate per score band, with the diagonal of perfect
    calibration drawn 5% beyond the largest value."""
    x = [b["mean_score"] for b in bands]
    y = [b["rate"] for b in bands]
    top = max([*x, *y, 1e-6]) * 1.05
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, top],
            y=[0, top],
            mode="lines",
            name="perfect",
            line={"dash": "dash", "color": "gray"},
        )
    )
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=series))
    fig.update_layout(title=title, xaxis_title=xaxis_title, yaxis_title=yaxis_title)
    return fig
