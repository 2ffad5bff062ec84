"""A self-contained HTML report of a weekly run (Plotly inlined: it opens offline, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from nextbest.config import ActionConfig
from nextbest.pipeline._figures import calibration_figure
from nextbest.pipeline._train import TrainedAction
from nextbest.pipeline._weekly import ActionOutcome, RunResult

_ENV = Environment(
    loader=PackageLoader("nextbest.pipeline", "templates"),
    autoescape=select_autoescape(["html"]),
)


def figure_div(fig: go.Figure, *, height: int = 340) -> Markup:
    """One chart as an HTML fragment in the house layout (Plotly itself comes with the page)."""
    fig.update_layout(
        margin={"l": 50, "r": 20, "t": 50, "b": 45}, height=height, template="plotly_white"
    )
    return Markup(
        fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
    )


def write_html_page(path: Path, template: str, *, title: str, **context: Any) -> Path:
    """Render ``template`` (of ``pipeline/templates``, escaping on) as a self-contained page
    with Plotly inlined (opens offline) and write it to ``path`` atomically."""
    doc = _ENV.get_template(template).render(
        title=title, plotly_js=Markup(get_plotlyjs()), **context
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(doc, encoding="utf-8")
    tmp.replace(path)
    return path


def _score_distribution(outcome: ActionOutcome, action: ActionConfig) -> go.Figure:
    fig = go.Figure(go.Histogram(x=outcome.scores, nbinsx=60, name="eligible customers"))
    fig.add_vline(
        x=action.threshold,
        line_dash="dash",
        line_color="crimson",
        annotation_text=f"threshold {action.threshold:g}",
    )
    fig.update_layout(
        title="Score distribution of the eligible customers",
        xaxis_title="calibrated score (probability of the target outcome)",
        yaxis_title="customers",
    )
    return fig


def _volume(outcome: ActionOutcome, action: ActionConfig) -> go.Figure:
    c = outcome.counts
    arms = ["treat", "holdout", "explore"]
    fig = go.Figure(
        go.Bar(
            x=arms,
            y=[c[a] for a in arms],
            text=[c[a] for a in arms],
            marker_color=["#2b6cb0", "#718096", "#dd6b20"],
        )
    )
    fig.add_hline(
        y=action.max_weekly,
        line_dash="dash",
        line_color="crimson",
        annotation_text=f"weekly max {action.max_weekly} (selected)",
    )
    if action.min_weekly:
        fig.add_hline(
            y=action.min_weekly,
            line_dash="dot",
            line_color="gray",
            annotation_text=f"weekly min {action.min_weekly}",
        )
    fig.update_layout(
        title=f"Volume per arm — {c['selected']} selected of {c['eligible']} eligible",
        yaxis_title="customers",
    )
    return fig


def _calibration(metrics: dict[str, Any]) -> go.Figure:
    return calibration_figure(
        metrics["calibration"],
        series="model (deciles)",
        title="Calibration on the evaluation weeks",
        xaxis_title="mean predicted probability",
        yaxis_title="realised rate",
    )


def _lift(metrics: dict[str, dict[str, Any]]) -> go.Figure:
    fig = go.Figure()
    for name, m in metrics.items():
        pts = m["lift_curve"]
        fig.add_trace(
            go.Scatter(
                x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers", name=name
            )
        )
    fig.add_hline(y=1.0, line_dash="dot", line_color="gray")
    fig.update_layout(
        title="Lift curve on the evaluation weeks",
        xaxis_title="share of customers targeted, highest scores first",
        yaxis_title="lift (precision / base rate)",
        yaxis_rangemode="tozero",
    )
    return fig


@dataclass(frozen=True)
class _Section:
    """What the run report shows of one action."""

    action: ActionConfig
    outcome: ActionOutcome
    trained: TrainedAction | None
    figures: list[Markup]


def _section(
    outcome: ActionOutcome, action: ActionConfig, trained: TrainedAction | None
) -> _Section:
    figs = [_score_distribution(outcome, action), _volume(outcome, action)]
    if trained is not None:
        figs += [
            _calibration(trained.result.metrics[action.model.kind]),
            _lift(trained.result.metrics),
        ]
    return _Section(action, outcome, trained, [figure_div(f) for f in figs])


def write_report(
    path: Path,
    run: RunResult,
    actions: list[ActionConfig],
    trained: list[TrainedAction],
) -> Path:
    """Write the run report to ``path`` (atomically) and return it."""
    by_name = {t.action: t for t in trained}
    sections = []
    for outcome in run.outcomes:
        action = next(a for a in actions if a.name == outcome.action)
        sections.append(_section(outcome, action, by_name.get(action.name)))
    return write_html_page(
        path, "run_report.html", title=f"nextbest run {run.run_id}", run=run, sections=sections
    )
