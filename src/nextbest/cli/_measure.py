"""Measurement: ``simulate-outcomes``, ``evaluate``, ``experiment`` and ``fairness``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nextbest.cli._context import cli_config, handled, open_cli_project
from nextbest.cli._render import console, print_evaluation, styled
from nextbest.errors import NotFoundError
from nextbest.pipeline import (
    evaluate_project,
    experiment_effects,
    fairness_report,
    simulate_outcomes,
)


@handled
def simulate_outcomes_cmd(
    run_id: Annotated[str, typer.Argument(help="An exported run of the demo bank.")],
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Synthetic bank only: draw the run's outcomes from the ground truth (incl. the true mail
    effect) and ingest them as the warehouse's later delivery."""
    cfg = cli_config()

    bank = cfg.resolve(cfg.sources.snapshots.path).parent if cfg.sources.snapshots else None
    if bank is None:
        raise NotFoundError("no [sources.snapshots] in the config: where is the bank?")
    with open_cli_project() as (store, cfg):
        n = simulate_outcomes(store, cfg, bank, run_id, seed=seed)
    console.print(f"{run_id}: {n:,} conversions drawn and ingested")


@handled
def evaluate(
    uplift: Annotated[
        float, typer.Option(help="Target absolute uplift for power planning.")
    ] = 0.005,
) -> None:
    """What the exported runs achieved: per arm with 95% intervals, incremental conversion and
    amount, the model's lift, other thresholds (IPW), and power; writes a CSV of every figure."""
    with open_cli_project() as (store, cfg):
        result = evaluate_project(store, cfg, uplift=uplift)
    print_evaluation(result)


@handled
def experiment(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet with one row per customer.")],
    arm_column: Annotated[str, typer.Option(help="Column with the arm of each customer.")],
    control: Annotated[str, typer.Option(help="The control arm's value.")],
    outcome: Annotated[list[str], typer.Option(help="0/1 outcome column (repeat).")],
    amount: Annotated[list[str] | None, typer.Option(help="Amount column (repeat).")] = None,
) -> None:
    """Effects of each arm against the control in a randomised experiment file, with the
    weekly measurement's estimators and the plain differences in means beside them."""
    effects = experiment_effects(
        file, arm_column=arm_column, control=control, outcomes=outcome, amounts=amount or []
    )
    t = Table(title=f"{file.name}: each arm against '{control}'", title_justify="left")
    for col in (
        "arm",
        "outcome",
        "n",
        "arm mean",
        "control mean",
        "difference in means",
        "estimate",
        "95% interval",
        "method",
    ):
        t.add_column(col)
    for e in effects:
        t.add_row(
            e.arm,
            e.outcome,
            f"{e.n_arm:,}",
            f"{e.mean_arm:.4f}",
            f"{e.mean_control:.4f}",
            f"{e.difference_in_means:+.4f}",
            f"{e.effect.value:+.4f}",
            f"[{e.effect.low:+.4f}, {e.effect.high:+.4f}]",
            e.effect.method,
        )
    console.print(t)


@handled
def fairness(
    runs_: Annotated[int, typer.Option("--runs", help="The last N runs make the period.")] = 12,
) -> None:
    """Who is never selected and why; selection rates per group (age band, segment, and —
    from the audit-only table — gender and postcode area), the law and the model apart; and
    features that act as proxies of a sensitive attribute."""
    with open_cli_project() as (store, cfg):
        result = fairness_report(store, cfg, n_runs=runs_)
    never, groups, proxies = result.never, result.groups, result.proxies
    console.print(
        styled(
            "[bold]Never selected[/] over {} run(s): {:,} of {:,} customers ({:.1%})",
            never.runs,
            never.never_selected,
            never.customers_in_every_run,
            never.share,
        )
    )
    for w in never.why[:6]:
        console.print(f"  {w.reason}: {w.customers:,}", highlight=False)
    for prof in never.profile:
        figures = {
            "mean age": prof.mean_age,
            "median balance": prof.median_balance,
            "app share": prof.app_share,
            "opted-in share": prof.opted_in_share,
        }
        console.print(
            f"  {prof.who}: "
            + ", ".join(f"{k} {v:,.2f}" for k, v in figures.items() if v is not None),
            highlight=False,
        )
    table = Table(
        title="Selection per group (legal rules apart from the model)", title_justify="left"
    )
    for col in (
        "grouping",
        "group",
        "customers",
        "pass legal rules",
        "ratio",
        "selected among them",
        "ratio ",
    ):
        table.add_column(col)
    for g in groups:
        model = g["selection_rate_among_legal"]
        table.add_row(
            g["grouping"],
            str(g["group"]),
            f"{g['customers']:,}",
            f"{g['legal_pass_rate']:.1%}",
            f"{g['legal_ratio_to_highest']:.2f}",
            "" if model is None else f"{model:.2%}",
            "" if model is None else f"{g['model_ratio_to_highest']:.2f}",
        )
    console.print(table)
    strong = [p for p in proxies if p["strong_proxy"]]
    console.print(
        "proxy check: "
        + (
            ", ".join(
                f"{p['feature']} ~ {p['attribute']} (η² {p['eta_squared']:.2f})" for p in strong
            )
            if strong
            else "no feature is a strong proxy (η² ≤ 0.1) of gender or postcode area"
        )
    )
