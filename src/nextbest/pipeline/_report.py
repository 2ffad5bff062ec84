"""A self-contained HTML report of a weekly run (Plotly inlined: it opens offline, no CDN)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from nextbest.config import ActionConfig
from nextbest.pipeline._train import TrainedAction
from nextbest.pipeline._weekly import ActionOutcome, RunResult


def figure_div(fig: go.Figure, *, height: int = 340) -> str:
    """One chart as an HTML fragment in the house layout (Plotly itself comes with the page)."""
    fig.update_layout(
        margin={"l": 50, "r": 20, "t": 50, "b": 45}, height=height, template="plotly_white"
    )
    return str(fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False}))


def write_html_page(path: Path, *, title: str, body: str, css: str) -> Path:
    """A self-contained page with Plotly inlined (opens offline), written atomically."""
    doc = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title><style>{css}</style>"
        f"<script>{get_plotlyjs()}</script></head><body>{body}</body></html>"
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
    bands = metrics["calibration"]
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
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name="model (deciles)"))
    fig.update_layout(
        title="Calibration on the evaluation weeks",
        xaxis_title="mean predicted probability",
        yaxis_title="realised rate",
    )
    return fig


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


def _metrics_table(trained: TrainedAction) -> str:
    rows = []
    for name, m in trained.result.metrics.items():
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{m['pr_auc']:.4f}</td><td>{m['roc_auc']:.3f}"
            f"</td><td>{m['lift_at_bucket']:.2f}</td><td>{m['brier']:.4f}</td>"
            f"<td>{m['mean_score']:.4f}</td><td>{m['base_rate']:.4f}</td></tr>"
        )
    return (
        "<table><tr><th>model</th><th>PR-AUC</th><th>ROC-AUC</th><th>lift at bucket</th>"
        "<th>Brier</th><th>mean score</th><th>base rate</th></tr>" + "".join(rows) + "</table>"
    )


_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1a202c}
h1{margin-bottom:.2rem} .sub{color:#4a5568;margin-top:0}
table{border-collapse:collapse;margin:.5rem 0 1.5rem} td,th{border:1px solid #cbd5e0;
padding:.3rem .6rem;text-align:right} th{background:#edf2f7} td:first-child{text-align:left}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:1rem} .flag{color:#c53030}
"""


def write_report(
    path: Path,
    run: RunResult,
    actions: list[ActionConfig],
    trained: list[TrainedAction],
) -> Path:
    """Write the run report to ``path`` (atomically) and return it."""
    by_name = {t.action: t for t in trained}
    parts = [
        f"<h1>nextbest — weekly run {html.escape(run.run_id)}</h1>",
        f"<p class=sub>Snapshot date {run.snapshot_date} · status <b>{run.status}</b> · "
        f"decision file sha256 <code>{run.decision_sha256[:16]}…</code></p>",
    ]
    for outcome in run.outcomes:
        action = next(a for a in actions if a.name == outcome.action)
        c = outcome.counts
        parts.append(
            f"<h2>{html.escape(action.name)}</h2><p>{html.escape(action.target)} · "
            f"model <code>{html.escape(outcome.model_version)}</code></p>"
        )
        parts.append(
            "<table><tr><th>customers</th><th>eligible</th><th>above threshold</th>"
            "<th>selected</th><th>treat</th><th>holdout</th><th>explore</th></tr>"
            f"<tr><td>{c['customers']}</td><td>{c['eligible']}</td><td>{c['candidates']}</td>"
            f"<td>{c['selected']}</td><td>{c['treat']}</td><td>{c['holdout']}</td>"
            f"<td>{c['explore']}</td></tr></table>"
        )
        for flag in outcome.flags:
            parts.append(f"<p class=flag>⚑ {html.escape(flag)}</p>")
        rules = "".join(
            f"<tr><td>{html.escape(r)}</td><td>{n}</td></tr>"
            for r, n in outcome.ineligible_by_rule.items()
        )
        parts.append(
            "<h3>First rule that stopped the ineligible</h3><table><tr><th>rule</th>"
            f"<th>customers</th></tr>{rules}</table>"
        )
        figs = [_score_distribution(outcome, action), _volume(outcome, action)]
        t = by_name.get(action.name)
        if t is not None:
            parts.append(
                "<h3>Model quality on the evaluation weeks "
                f"({', '.join(d.isoformat() for d in t.result.split.evaluation[:1])} …"
                f" {t.result.split.evaluation[-1]})</h3>"
            )
            parts.append(_metrics_table(t))
            figs += [_calibration(t.result.metrics[action.model.kind]), _lift(t.result.metrics)]
        parts.append("<div class=grid>" + "".join(figure_div(f) for f in figs) + "</div>")
    return write_html_page(
        path, title=f"nextbest run {run.run_id}", body="\n".join(parts), css=_CSS
    )
