"""Output: the inert console (no markup or control characters from data), :func:`styled` for
our own markup, and the Rich tables and summaries the commands print."""

from __future__ import annotations

import re
import string
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from nextbest.evaluation import Estimate, RunEvaluation
from nextbest.ingest import (
    LoadReport,
)
from nextbest.models import (
    Finding,
)
from nextbest.pipeline import (
    BacktestReport,
    CustomerExplanation,
    DemoResult,
    Evaluation,
    RunResult,
    TrainedAction,
)
from nextbest.simulate import BankManifest

# Characters a terminal acts on instead of showing: C0 controls but tab and newline (ESC starts
# the sequences that clear the screen or recolour text, CR overwrites a line), DEL, the C1
# controls (CSI among them) and the bidirectional overrides that reorder what is shown.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def inert(text: str) -> str:
    """``text`` without the characters a terminal would act on (newline and tab stay)."""
    return _CONTROLS.sub("", text)


class _InertConsole(Console):
    """Prints every string as it is: no Rich markup and no emoji codes are interpreted, and
    control characters are removed (in table cells and titles too). Whatever a user typed —
    a comment, a name, a reason, a run id, a file name — can therefore be printed with a plain
    f-string. Styling comes only from :func:`styled`, whose template is ours."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markup=False, emoji=False, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(inert(text), **kwargs)


class _PlainFields(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        return escape(inert(format(value, format_spec)))


_PLAIN_FIELDS = _PlainFields()


def styled(template: str, *values: object) -> Text:
    """Rich markup from our own ``template``; its ``{}`` fields are filled with ``values`` as
    plain text (formatted, control characters removed, markup escaped).

    >>> styled("[bold]Run {}[/]: {:,} selected", "[red]r1", 1200).plain
    'Run [red]r1: 1,200 selected'
    """
    return Text.from_markup(_PLAIN_FIELDS.format(template, *values), emoji=False)


# Output that goes to a log file or a pipe (cron, CI, orchestrators) gets wide lines rather than
# the 80 columns Rich assumes when there is no terminal.
console = _InertConsole() if sys.stdout.isatty() else _InertConsole(width=160)


err_console = (
    _InertConsole(stderr=True) if sys.stderr.isatty() else _InertConsole(stderr=True, width=160)
)


def _print_bank(m: BankManifest) -> None:
    console.print(
        styled(
            "\n[bold]Synthetic bank[/]: {:,} customers × {} weekly snapshots ({} … {}), market "
            "crash from {}, {:,} customers started investing.",
            m.n_customers,
            m.n_weeks,
            m.snapshot_dates[0],
            m.snapshot_dates[-1],
            m.crash_start,
            m.n_conversions,
        )
    )


def _print_ingestion(reports: list[LoadReport], late: object) -> None:
    loaded = [r for r in reports if r.status == "loaded"]
    unchanged = len(reports) - len(loaded)
    table = Table(title="Ingestion under data contracts", title_justify="left")
    for col in ("table", "files", "rows loaded", "rows quarantined", "issues"):
        table.add_column(col, justify="right" if col != "table" else "left")
    per: dict[str, list[LoadReport]] = {}
    for r in reports:
        per.setdefault(r.table, []).append(r)
    for name, reps in per.items():
        table.add_row(
            name,
            str(len(reps)),
            f"{sum(r.rows_loaded for r in reps):,}",
            f"{sum(r.rows_quarantined for r in reps):,}",
            str(sum(len(r.issues) for r in reps)),
        )
    console.print(table)
    if unchanged:
        console.print(f"{unchanged} file(s) were already loaded unchanged and were skipped.")
    issues = [i for r in reports for i in r.issues]
    for issue in issues:
        colour = "red" if issue.severity == "error" else "yellow"
        console.print(styled(f"  [{colour}]{{}}[/] {{}}", issue.severity, issue.message))
    if late:
        console.print(
            styled(
                "  [yellow]note[/] the warehouse did not deliver the week of {} (it waits in "
                "bank/late/); features for later weeks fall back to the week before.",
                late,
            )
        )


def _print_features(result: DemoResult) -> None:
    feats = Table(
        title=f"Features for {result.latest_date} ({result.n_scored:,} customers)",
        title_justify="left",
    )
    for col in ("feature", "missing", "min", "median", "max"):
        feats.add_column(col, justify="right" if col != "feature" else "left")
    for row in result.feature_summary:
        feats.add_row(
            str(row["feature"]),
            f"{float(str(row['missing'])):.1%}",
            *(fmt(row[k]) for k in ("min", "median", "max")),
        )
    console.print(feats)
    console.print(
        f"Training table: {result.training_rows:,} rows of non-investors on "
        f"{len(result.training_dates)} dates ({result.training_dates[0]} … "
        f"{result.training_dates[-1]}); {result.training_base_rate:.2%} started investing "
        "within the label window."
    )


def _print_demo_run(result: DemoResult) -> None:
    c = f"nextbest -c {result.config_path}"
    if result.halted:
        console.print(styled("\n[bold red]The weekly run halted:[/] {}", result.halted))
        console.print(f"  See the checks with: {c} review latest")
        return
    if result.run is None:
        for v in result.blocked:
            console.print(
                styled(
                    "\n[bold red]No weekly run:[/] {0} has critical findings (leakage hunt or "
                    "release gate) and waits as a candidate. Review it with\n  {1} models show "
                    "{0}\nand fix the features, or promote it with a written reason:\n  {1} "
                    "models promote {0} --to champion --by NAME --reason '…' --override '…'",
                    v.version,
                    c,
                )
            )
        return
    print_run(result.run)
    console.print(f"\nReport (opens offline): {result.report_path}")
    console.print(
        "\nNext: review the list with\n"
        f"  {c} show {result.run.run_id}              counts, reasons, a sample to check\n"
        f"  {c} show {result.run.run_id} --customer N why this customer?\n"
        f"  {c} status | quarantine | features --describe\n"
        "then, as a person other than the one who started it (the demo started it as 'demo'):\n"
        f"  {c} approve {result.run.run_id} --by NAME --comment 'sample checked'\n"
        f"  {c} export {result.run.run_id} --by NAME   hand-off file for the e-mail tool"
    )


def print_demo(result: DemoResult) -> None:
    """The demo's summary: the bank, ingestion, features, training, and the run or why none."""
    _print_bank(result.manifest)
    _print_ingestion(result.reports, result.manifest.faults.get("late_week"))
    _print_features(result)
    print_training(result.trained)
    _print_demo_run(result)


def fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def print_training(trained: list[TrainedAction]) -> None:
    for t in trained:
        table = Table(
            title=f"Model for {t.action}: {t.version.version} ({t.version.status}), "
            f"{t.training_rows:,} training rows, evaluated on "
            f"{t.result.split.evaluation[0]} … {t.result.split.evaluation[-1]}",
            title_justify="left",
        )
        for col in (
            "model",
            "PR-AUC",
            "ROC-AUC",
            "lift at bucket",
            "Brier",
            "mean score",
            "base rate",
        ):
            table.add_column(col, justify="right" if col != "model" else "left")
        for name, m in t.result.metrics.items():
            table.add_row(
                name,
                f"{m['pr_auc']:.4f}",
                f"{m['roc_auc']:.3f}",
                f"{m['lift_at_bucket']:.2f}",
                f"{m['brier']:.4f}",
                f"{m['mean_score']:.4f}",
                f"{m['base_rate']:.4f}",
            )
        console.print(table)
        print_findings(t.findings)
        oracle = t.result.metrics.get("oracle")
        chosen = t.result.metrics[t.version.kind]
        print_gate(t.version.version, t.version.status, chosen)
        if oracle:
            console.print(
                f"  The deployed {t.version.kind} model reaches "
                f"{chosen['pr_auc'] / oracle['pr_auc']:.0%} of the ground-truth oracle's PR-AUC "
                f"and {chosen['lift_at_bucket'] / oracle['lift_at_bucket']:.0%} of its lift "
                f"at the weekly bucket of {chosen['bucket']}."
            )


def print_gate(version: str, status: str, metrics: dict[str, Any]) -> None:
    gate = metrics.get("gate")
    if not gate:
        return
    lo, hi = metrics.get("roc_auc_ci") or (float("nan"), float("nan"))
    figure = f"ROC-AUC {metrics['roc_auc']:.3f}, {metrics.get('roc_auc_ci_level', 0.95):.0%} "
    if gate["passed"]:
        console.print(
            styled("  release gate: [green]passed[/] ({}interval {:.3f}–{:.3f})", figure, lo, hi),
            highlight=False,
        )
        return
    failed = ", ".join(r["rule"] for r in gate["rules"] if not r["passed"])
    console.print(
        styled(
            "  release gate: [bold red]failed[/] ({}; {}interval {:.3f}–{:.3f}): {} stays {}. "
            "If a person accepts it anyway:\n    nextbest models promote {} --to champion "
            "--by NAME --reason '…' --override '…'",
            failed,
            figure,
            lo,
            hi,
            version,
            status,
            version,
        ),
        highlight=False,
    )


def print_findings(findings: list[Finding]) -> None:
    colours = {"critical": "bold red", "warning": "yellow", "info": "dim"}
    if not findings:
        console.print("  leakage hunt: no findings.")
    for f in findings:
        console.print(
            styled(
                f"  [{colours[f.severity]}]{{}}[/] {{}}: {{}}\n      remedy: {{}}",
                f.severity,
                f.check,
                f.evidence,
                f.remedy,
            )
        )


def print_run(run: RunResult) -> None:
    console.print(
        styled(
            "\n[bold]Run {}[/] for {}: status [bold]{}[/] — nothing is sent before a person "
            "approves it.",
            run.run_id,
            run.snapshot_date,
            run.status,
        )
    )
    for o in run.outcomes:
        c = o.counts
        console.print(
            f"  {o.action} (model {o.model_version}): {c['customers']:,} customers, "
            f"{c['eligible']:,} eligible, {c['candidates']:,} above the threshold, "
            f"{c['selected']:,} selected → treat {c['treat']:,}, holdout {c['holdout']:,}; "
            f"explore {c['explore']:,}",
            highlight=False,
        )
        for flag in o.flags:
            console.print(styled("  [yellow]flag[/] {}", flag))
        stops = ", ".join(f"{r} {n:,}" for r, n in o.ineligible_by_rule.items())
        console.print(f"  first rule that stopped the ineligible: {stops}", highlight=False)
        if o.top_reasons:
            top = ", ".join(f"{f} ({n:,})" for f, n in o.top_reasons)
            console.print(
                f"  strongest reason among the mailed and held out: {top}", highlight=False
            )
    console.print(
        f"  decision file {run.decision_file} (sha256 {run.decision_sha256[:12]}…)", highlight=False
    )


def print_release(lines: list[Any], candidate: str, champion: str) -> None:
    table = Table(
        title=f"Release table: {candidate} (candidate) vs {champion} (champion)",
        title_justify="left",
    )
    for col in ("check", "candidate", "champion", "figure", "threshold", "result"):
        table.add_column(col)
    for line in lines:
        table.add_row(
            line.check,
            f"{line.candidate:.4f}",
            f"{line.champion:.4f}",
            f"{line.figure:+.4f}",
            line.threshold,
            styled("[green]pass[/]" if line.passed else "[red]fail[/]"),
        )
    console.print(table)


def _estimate(e: Estimate) -> str:
    return f"{e.value:.4f} [{e.low:.4f}, {e.high:.4f}]"


def _print_run_evaluation(r: RunEvaluation, funnel: list[dict[str, Any]]) -> None:
    state = "" if r.complete else " (window still open: incomplete)"
    console.print(styled("\n[bold]{}[/] {}{}", r.run_id, r.action, state))
    for a in r.arms.values():
        console.print(
            f"  {a.arm:<8} {a.customers:>7,} customers, {a.conversions:>5,} "
            f"converted: {_estimate(a.conversion)}, mean amount €{a.amount_mean:,.0f}",
            highlight=False,
        )
    for label, e in (
        ("incremental conversion (treat − holdout, Newcombe)", r.incremental_conversion),
        ("incremental amount per customer (bootstrap)", r.incremental_amount),
        (
            "conversion if every eligible were mailed (IPW over treat + explore)",
            r.mailed_population_rate,
        ),
    ):
        console.print(f"  {label}: {_estimate(e)}", highlight=False)
    for f in funnel:
        if f["sent"]:
            console.print(
                f"  e-mail {f['arm']}: {f['sent']:,} sent, "
                f"{f['opened'] / f['sent']:.0%} opened, {f['clicked'] / f['sent']:.0%} "
                f"clicked, {f['unsubscribed'] / f['sent']:.1%} unsubscribed",
                highlight=False,
            )
    if r.model_lift is not None:
        console.print(f"  model lift (treat ÷ mailed population): {r.model_lift:.2f}")
    for t in r.thresholds:
        console.print(
            f"  threshold {t['threshold']:.4f}: conversion if mailed "
            f"{_estimate(t['conversion_if_mailed'])} ({t['mailed_observed']} mailed customers "
            "observed)",
            highlight=False,
        )


def print_evaluation(result: Evaluation) -> None:
    """The ``evaluate`` summary: per run and action, the power plan, model health, the files."""
    if not result.runs:
        console.print("no exported runs yet: nothing has been mailed, so nothing to measure.")
        return
    for r in result.runs:
        _print_run_evaluation(r, result.funnels.get(r.run_id, []))
    for p in result.plans:
        console.print(
            f"\npower: {p.action} mails {p.weekly_treat:,} and holds out "
            f"{p.weekly_holdout:,} a week at a base rate of {p.base_rate:.2%}; an uplift of "
            f"{p.uplift:.2%} is detectable at 80% power after {p.weeks} week(s) "
            f"({p.holdout_needed:,} held out)",
            highlight=False,
        )
    for h in result.health:
        console.print(
            f"model health {h['run']}: PR-AUC {h['pr_auc']:.4f} (at training "
            f"{h['pr_auc_at_training'] or float('nan'):.4f}), lift at bucket "
            f"{h['lift_at_bucket']:.2f}, mean score {h['mean_score']:.4f} against realised "
            f"{h['realised_rate']:.4f} on {h['customers']:,} unmailed eligible",
            highlight=False,
        )
        for w in h["warnings"]:
            console.print(styled("  [yellow]warning[/] {}", w))
    console.print(f"\nevery figure: {result.figures_csv}\nreport (opens offline): {result.report}")


def print_backtest(done: BacktestReport) -> None:
    """The history replay: one row a week, the summary, each expectation, the report."""
    table = Table(
        title=f"History replay — {done.result.action} ({done.result.seconds:.0f} s)",
        title_justify="left",
    )
    for col in (
        "week",
        "model until",
        "eligible",
        "above thr.",
        "selected",
        "mails",
        "precision",
        "lift",
        "fund 4w",
    ):
        table.add_column(col, justify="right")
    for w in done.result.weeks:
        table.add_row(
            str(w.week),
            str(w.model_trained_until),
            f"{w.eligible:,}",
            f"{w.candidates:,}",
            f"{w.selected:,}",
            f"{w.mails:,}",
            f"{w.precision:.3f}" if w.precision is not None and w.outcome_complete else "…",
            f"{w.lift:.2f}" if w.lift is not None and w.outcome_complete else "…",
            f"{w.fund_return_4w:+.1%}" if w.fund_return_4w is not None else "",
        )
    console.print(table)
    s = done.result.summary
    console.print(
        f"weekly volume: max {s['max_weekly_volume']:,}, median {s['median_weekly_volume']:,} "
        f"(max/median {s['max_to_median']:.2f}); {s['weeks_outside_bounds']} week(s) outside "
        f"the bounds; mean realised lift {s['mean_lift'] or float('nan'):.2f}",
        highlight=False,
    )
    for w in s["worst_weeks"]:
        console.print(f"  worst: {w['week']}: {w['why']}", highlight=False)
    for e in done.result.expectations:
        mark = "[green]✓[/]" if e["passed"] else "[red]✗[/]"
        console.print(
            styled(
                f"  {mark} {{}}{{}}",
                e["expect"],
                f": {'; '.join(e['violations'])}" if e["violations"] else "",
            )
        )
    console.print(f"report: {done.report} (weeks as CSV beside it)")


def _explanation_facts(e: CustomerExplanation) -> list[tuple[str | None, str, str]]:
    """A customer's explanation as (action or None, label, text) facts."""
    facts: list[tuple[str | None, str, str]] = []
    for a in e.actions:
        trail = "; ".join(f"{'✓' if c.passed else '✗'} {c.rule}" for c in a.eligibility)
        arm = f"{a.arm} (assignment probability {a.assignment_probability:.3f})"
        facts += [(a.action, "arm", arm), (a.action, "eligibility", trail)]
        if a.first_failed_rule:
            facts.append((a.action, "first failing rule", a.first_failed_rule))
        rank = f", rank {a.rank}" if a.rank else ""
        facts.append((a.action, "score", f"{a.score:.4f} (threshold {a.threshold:g}){rank}"))
        if a.went_to is not None and not a.first_failed_rule and a.score >= a.threshold:
            facts.append((a.action, "arbitration", f"{a.went_to} took the customer this week"))
        facts.append((a.action, "reasons", a.reasons))
    shares = [
        "" if f.share_below is None else f" (higher than {f.share_below:.0%} of customers)"
        for f in e.features
    ]
    ordered = sorted(zip(e.features, shares, strict=True), key=lambda p: p[0].market_wide)
    facts.append((None, "features", "; ".join(f.text + share for f, share in ordered)))
    return facts


def explanation_lines(e: CustomerExplanation) -> list[tuple[str, str]]:
    """A customer's explanation as (label, text) lines; per-action labels start with it."""
    return [("run", e.run_id), ("relation", str(e.relation_id))] + [
        (label if action is None else f"{action}: {label}", text)
        for action, label, text in _explanation_facts(e)
    ]


def explanation_inline(e: CustomerExplanation) -> str:
    """The explanation on one line, as ``review`` shows each sampled customer."""
    return " | ".join(f"{label}: {text}" for _, label, text in _explanation_facts(e))
