"""Measurement: ``simulate-outcomes``, ``evaluate``, ``experiment`` and ``fairness``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from nextbest.cli._context import cli_config, handled, open_cli_project
from nextbest.cli._render import console, styled
from nextbest.errors import NotFoundError


@handled
def simulate_outcomes_cmd(
    run_id: Annotated[str, typer.Argument(help="An exported run of the demo bank.")],
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Synthetic bank only: draw the run's outcomes from the ground truth (incl. the true mail
    effect) and ingest them as the warehouse's later delivery."""
    cfg = cli_config()
    from nextbest.pipeline import simulate_outcomes

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
    import csv

    from nextbest.evaluation import evaluate_runs, power_plan

    with open_cli_project() as (store, cfg):
        results = evaluate_runs(store, cfg)
        plans = power_plan(store, cfg, uplift=uplift)
    if not results:
        console.print("no exported runs yet: nothing has been mailed, so nothing to measure.")
        return
    rows: list[dict[str, object]] = []

    def fig(run: str, action: str, name: str, e: Any) -> str:
        rows.append(
            {
                "run": run,
                "action": action,
                "figure": name,
                "value": e.value,
                "low": e.low,
                "high": e.high,
                "method": e.method,
            }
        )
        return f"{e.value:.4f} [{e.low:.4f}, {e.high:.4f}]"

    for r in results:
        state = "" if r.complete else " (window still open: incomplete)"
        console.print(styled("\n[bold]{}[/] {}{}", r.run_id, r.action, state))
        for a in r.arms.values():
            console.print(
                f"  {a.arm:<8} {a.customers:>7,} customers, {a.conversions:>5,} "
                f"converted: {fig(r.run_id, r.action, a.arm + ' conversion', a.conversion)}"
                f", mean amount €{a.amount_mean:,.0f}",
                highlight=False,
            )
        console.print(
            "  incremental conversion (treat − holdout, Newcombe): "
            + fig(r.run_id, r.action, "incremental conversion", r.incremental_conversion),
            highlight=False,
        )
        console.print(
            "  incremental amount per customer (bootstrap): "
            + fig(r.run_id, r.action, "incremental amount", r.incremental_amount),
            highlight=False,
        )
        console.print(
            "  conversion if every eligible were mailed (IPW over treat + explore): "
            + fig(r.run_id, r.action, "mailed population conversion", r.mailed_population_rate),
            highlight=False,
        )
        if r.run_id != "pooled":
            from nextbest.evaluation import email_funnel

            with open_cli_project() as (store, cfg):
                funnel = email_funnel(store, r.run_id)
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
            rows.append(
                {
                    "run": r.run_id,
                    "action": r.action,
                    "figure": "model lift",
                    "value": r.model_lift,
                    "low": "",
                    "high": "",
                    "method": "ratio",
                }
            )
        for t in r.thresholds:
            console.print(
                f"  threshold {t['threshold']:.4f}: conversion if mailed "
                + fig(
                    r.run_id,
                    r.action,
                    f"conversion at threshold {t['threshold']:.4f}",
                    t["conversion_if_mailed"],
                )
                + f" ({t['mailed_observed']} mailed customers observed)",
                highlight=False,
            )
    for p in plans:
        console.print(
            f"\npower: {p['action']} mails {p['weekly_treat']:,} and holds out "
            f"{p['weekly_holdout']:,} a week at a base rate of {p['base_rate']:.2%}; an uplift of "
            f"{p['uplift']:.2%} is detectable at 80% power after {p['weeks']} week(s) "
            f"({p['holdout_needed']:,} held out)",
            highlight=False,
        )
    with open_cli_project() as (store, cfg):
        from nextbest.evaluation import model_health

        health = model_health(store, cfg)
    for h in health:
        console.print(
            f"model health {h['run']}: PR-AUC {h['pr_auc']:.4f} (at training "
            f"{h['pr_auc_at_training'] or float('nan'):.4f}), lift at bucket "
            f"{h['lift_at_bucket']:.2f}, mean score {h['mean_score']:.4f} against realised "
            f"{h['realised_rate']:.4f} on {h['customers']:,} unmailed eligible",
            highlight=False,
        )
        for w in h["warnings"]:
            console.print(styled("  [yellow]warning[/] {}", w))
        rows.append(
            {
                "run": h["run"],
                "action": h["action"],
                "figure": "health PR-AUC",
                "value": h["pr_auc"],
                "low": "",
                "high": "",
                "method": "unmailed eligible",
            }
        )
    out = cfg.resolve(cfg.store.path).parent / "evaluation" / "figures.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(
            fh, fieldnames=["run", "action", "figure", "value", "low", "high", "method"]
        )
        writer.writeheader()
        writer.writerows(rows)
    from nextbest.evaluation import selection_by_group
    from nextbest.pipeline._evaluation_report import write_evaluation_report

    with open_cli_project() as (store, cfg):
        recent = [r.run_id for r in results if r.run_id != "pooled"]
        groups = selection_by_group(store, recent)
    report = write_evaluation_report(out.with_name("report.html"), results, health, groups)
    console.print(f"\nevery figure: {out}\nreport (opens offline): {report}")


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
    from nextbest.evaluation import arm_effects
    from nextbest.store import Store

    lit = "'" + str(file).replace("'", "''") + "'"
    reader = f"read_parquet({lit})" if file.suffix == ".parquet" else f"read_csv({lit})"
    cols = [*outcome, *(amount or [])]
    with Store(":memory:") as store:
        try:
            table = store.arrow(
                f'SELECT "{arm_column}" AS arm, '
                + ", ".join(f'CAST("{c}" AS DOUBLE) AS "{c}"' for c in cols)
                + f" FROM {reader}"
            )
        except Exception as exc:
            raise NotFoundError(f"{file}: {str(exc).splitlines()[0]}") from None
    arms = table["arm"].to_numpy(zero_copy_only=False).astype(str)
    if control not in set(arms):
        raise NotFoundError(
            f"{file}: no rows with {arm_column} = {control!r}; arms are {sorted(set(arms))}"
        )
    effects = arm_effects(
        arms, {c: table[c].to_numpy() for c in cols}, control=control, binary=set(outcome)
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
    from nextbest.evaluation import never_selected, proxy_check, selection_by_group

    with open_cli_project() as (store, cfg):
        run_ids = [
            r[0]
            for r in store.fetchall(
                "SELECT run_id FROM runs WHERE status NOT IN ('halted', 'skipped') "
                "ORDER BY snapshot_date DESC, run_id DESC LIMIT ?",
                [runs_],
            )
        ]
        if not run_ids:
            raise NotFoundError("no runs yet; run 'nextbest run' first")
        groups = selection_by_group(store, run_ids)
        never = never_selected(store, run_ids)
        proxies = proxy_check(store, run_ids[0], cfg.features)
    console.print(
        styled(
            "[bold]Never selected[/] over {} run(s): {:,} of {:,} customers ({:.1%})",
            never["runs"],
            never["never_selected"],
            never["customers_in_every_run"],
            never["share"],
        )
    )
    for w in never["why"][:6]:
        console.print(f"  {w['reason']}: {w['customers']:,}", highlight=False)
    for who, prof in never["profile"].items():
        console.print(
            f"  {who}: " + ", ".join(f"{k} {v:,.2f}" for k, v in prof.items() if v is not None),
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
