"""The weekly run and its life: ``run``, ``runs``, ``show``, ``review``, ``approve``, ``reject``,
``export``, ``replay`` and ``backtest``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nextbest.cli._context import (
    handled,
    login_name,
    open_cli_project,
    parse_date,
    progress_reporter,
)
from nextbest.cli._render import (
    console,
    explanation_inline,
    explanation_lines,
    print_backtest,
    print_run,
    styled,
)
from nextbest.pipeline import (
    SupersededInput,
    action_enabled,
    backtest_project,
    decide_review,
    due_week,
    explain_customer,
    explain_customers,
    export_run,
    list_runs,
    record_skipped,
    replay,
    review,
    run_summary,
    run_week,
    undelivered_alerts,
)


@handled
def run_cmd(
    date: Annotated[str | None, typer.Option(help="Snapshot date (default: the latest).")] = None,
    week: Annotated[
        str | None, typer.Option(help="'auto': the due week, for cron or an orchestrator.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the arms (default: the run seed in the config).")
    ] = None,
    override: Annotated[
        str | None, typer.Option(help="Written reason to run despite failed checks.")
    ] = None,
    supersede: Annotated[
        str | None,
        typer.Option(
            help="Written reason to decide a week again that already has a live list; the new "
            "run supersedes it (an --override never does)."
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            help="Who runs it (recorded; they cannot approve it). Default: your login name, "
            "or 'system' with --week auto."
        ),
    ] = None,
) -> None:
    """Check the inputs, decide one week for every action, check the list; the run waits for
    review. Exit 3 with a one-line reason when a check halts it; an e-mail goes out. A week
    that already has a live list is refused unless --supersede gives a reason."""
    if (override or supersede is not None) and not (by and by.strip()):
        raise typer.BadParameter(
            "an --override or --supersede needs the name of who takes it: --by NAME"
        )
    actor = by or ("system" if week == "auto" else login_name())
    with open_cli_project() as (store, eff):
        if week is not None and week != "auto":
            raise typer.BadParameter(f"--week takes 'auto', got {week!r}")
        day = None if date in (None, "latest") else parse_date(str(date), "--date")
        if week == "auto":
            day, why = due_week(store)
            if day is None:
                console.print(f"nothing to do: {why}")
                return
            disabled = [a.name for a in eff.actions if not action_enabled(store, a.name)]
            if disabled and len(disabled) == len(eff.actions):
                rid = record_skipped(store, eff, day, f"disabled: {', '.join(disabled)}")
                console.print(f"{rid}: skipped, the action is switched off ({', '.join(disabled)})")
                return
            console.print(f"due week {day} ({why})")
        with progress_reporter() as progress:
            result = run_week(
                store,
                eff,
                day=day,
                seed=seed,
                progress=progress,
                override=override,
                supersede=supersede,
                actor=actor,
            )
    print_run(result)
    console.print(f"  started by {actor} (someone else approves it)", highlight=False)
    for old in result.superseded:
        console.print(
            f"  supersedes {old}: it can no longer be approved or exported", highlight=False
        )
    warns = [c for c in result.checks if c.verdict != "pass"]
    for c in warns:
        console.print(f"  check {c.verdict}: {c.name}: {c.message}", highlight=False)


@handled
def runs() -> None:
    """The runs, newest first, and any halt whose alert was never delivered."""
    with open_cli_project() as (store, _):
        rows = list_runs(store)
        undelivered = undelivered_alerts(store)
    table = Table(title="Runs", title_justify="left")
    for col in ("run", "snapshot date", "status", "created", "selected"):
        table.add_column(col, no_wrap=True)
    table.add_column("models")
    for r in rows:
        table.add_row(
            r["run_id"],
            str(r["snapshot_date"]),
            r["status"],
            str(r["created_at"])[:19],
            str(r["selected"]),
            r["models"],
        )
    console.print(table)
    for a in undelivered:
        console.print(
            styled(
                "[bold yellow]warning:[/] the halt alert of run {} ({}) was not delivered "
                "({} failed alert(s); the latest, {}: {})",
                a["run_id"],
                a["status"],
                a["failures"],
                str(a["failed_at"])[:19],
                a["error"],
            ),
            soft_wrap=True,
        )


@handled
def show(
    run_id: Annotated[str, typer.Argument(help="Run id, e.g. 2025-06-29-r1, or 'latest'.")],
    customer: Annotated[int | None, typer.Option(help="Explain one relation number.")] = None,
    sample: Annotated[int, typer.Option(help="Random selected customers to show.")] = 10,
) -> None:
    """A run's counts and a random sample of the selected, or why one customer got their arm."""
    with open_cli_project() as (store, cfg):
        if customer is not None:
            info = explain_customer(store, cfg, run_id, customer)
            for key, value in explanation_lines(info):
                console.print(styled("[bold]{}[/]: {}", key, value), soft_wrap=True)
            return
        summary = run_summary(store, run_id, sample=sample)
    console.print(
        styled(
            "[bold]Run {}[/] for {}: status {}",
            summary.run_id,
            summary.snapshot_date,
            summary.status,
        )
    )
    for action, counts in summary.counts.items():
        console.print(
            f"  {action}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), highlight=False
        )
    table = Table(
        title=f"Random sample of {len(summary.sample)} selected (seeded)", title_justify="left"
    )
    for col in ("relation", "action", "arm", "score", "rank", "reasons"):
        table.add_column(col)
    for r in summary.sample:
        table.add_row(
            str(r.relation_id),
            r.action,
            r.arm,
            f"{r.score:.3f}",
            str(r.rank),
            r.reasons or "",
        )
    console.print(table)


@handled
def backtest(
    action: Annotated[str | None, typer.Option(help="Action (default: the first).")] = None,
    start: Annotated[str | None, typer.Option(help="First week to replay.")] = None,
    end: Annotated[str | None, typer.Option(help="Last week to replay.")] = None,
) -> None:
    """Replay history week by week with models trained on what was known then; writes a
    report with the weekly plots. Exits 1 when a configured expectation fails."""
    with open_cli_project() as (store, cfg), progress_reporter() as progress:
        done = backtest_project(
            store,
            cfg,
            action_name=action,
            start=parse_date(start, "--start") if start else None,
            end=parse_date(end, "--end") if end else None,
            progress=progress,
        )
    print_backtest(done)
    if done.failed:
        raise typer.Exit(1)


@handled
def review_cmd(
    run_id: Annotated[str, typer.Argument(help="Run id or 'latest'.")] = "latest",
    sample: Annotated[int, typer.Option(help="Selected customers to show.")] = 10,
) -> None:
    """Everything to check before approving: counts, volume vs band, checks, a sample with
    features and reasons, the overlap with last week."""
    with open_cli_project() as (store, cfg):
        r = review(store, run_id, sample=sample)
        details = explain_customers(
            store,
            cfg,
            r.run_id,
            [s.relation_id for s in r.sample],
        )
    console.print(
        styled(
            "[bold]Run {}[/] for {}: status [bold]{}[/]{}{}",
            r.run_id,
            r.snapshot_date,
            r.status,
            f", started by {r.started_by}" if r.started_by else "",
            f", superseded by {r.superseded_by}" if r.superseded_by else "",
        ),
        highlight=False,
    )
    for action, counts in r.counts.items():
        a = r.settings.get(action)  # what the run was decided with, not today's knobs
        band = f"{a.min_weekly}–{a.max_weekly}" if a else "not recorded"
        console.print(
            f"  {action}: {counts['selected']:,} selected (band {band}), "
            f"treat {counts['treat']:,}, holdout {counts['holdout']:,}, explore "
            f"{counts['explore']:,}; {counts['eligible']:,} eligible of {counts['customers']:,}",
            highlight=False,
        )
    table = Table(title="Checks", title_justify="left")
    for col in ("check", "verdict", "figure", "limit", "message"):
        table.add_column(col)
    colours = {"pass": "green", "warn": "yellow", "halt": "red"}
    for c in r.checks:
        table.add_row(
            c.name,
            styled(f"[{colours[c.verdict]}]{{}}[/]", c.verdict),
            "" if c.figure is None else f"{c.figure:.4g}",
            c.limit,
            c.message,
        )
    console.print(table)
    for o in r.overlaps:
        which = "the previous week's run" if o.run_id == r.previous_run else "same week"
        must = (
            " (must be 0 within the cooldown)"
            if o.run_id == r.previous_run or o.status == "exported"
            else ""
        )
        console.print(
            f"  also assigned in {o.run_id} ({which}, {o.status}): {o.assigned_in_both}{must}",
            highlight=False,
        )
    for d in details:
        console.print(
            styled(
                "  [bold]{}[/] {}",
                d.relation_id,
                explanation_inline(d),
            ),
            soft_wrap=True,
        )
    for e in r.events:
        console.print(f"  {str(e.at)[:19]} {e.event} by {e.actor}: {e.comment}", highlight=False)


@handled
def approve(
    run_id: Annotated[str, typer.Argument()],
    by: Annotated[str, typer.Option(help="Your name (recorded).")],
    comment: Annotated[str, typer.Option(help="What you checked.")] = "",
) -> None:
    """Approve a run after review (four eyes: not by who started it). Name the run; 'latest'
    is refused."""
    with open_cli_project() as (store, _):
        status = decide_review(store, run_id, approve=True, actor=by, comment=comment)
    console.print(f"{run_id}: {status}")


@handled
def reject(
    run_id: Annotated[str, typer.Argument()],
    by: Annotated[str, typer.Option(help="Your name (recorded).")],
    comment: Annotated[str, typer.Option(help="Why.")] = "",
) -> None:
    """Reject a run; it is never exported. Name the run; 'latest' is refused."""
    with open_cli_project() as (store, _):
        status = decide_review(store, run_id, approve=False, actor=by, comment=comment)
    console.print(f"{run_id}: {status}")


@handled
def export_cmd(
    run_id: Annotated[str, typer.Argument()],
    by: Annotated[str, typer.Option(help="Your name (recorded).")] = "system",
) -> None:
    """Write the hand-off file for the e-mail tool (approved runs only; idempotent: again, it
    verifies the files and rewrites a missing or damaged one). Name the run; 'latest' is
    refused."""
    with open_cli_project() as (store, cfg):
        result = export_run(store, cfg, run_id, actor=by)
    if result.already:
        console.print(
            f"{result.run_id} was already exported; nothing sent twice ({result.csv_file})"
            + (f"; rewrote {', '.join(result.restored)}" if result.restored else ""),
            highlight=False,
            soft_wrap=True,
        )
    else:
        console.print(
            f"{result.run_id}: {result.rows:,} to mail, {result.contacts:,} contacts "
            f"recorded; {result.csv_file} and {result.parquet_file}"
        )


@handled
def replay_cmd(run_id: Annotated[str, typer.Argument()]) -> None:
    """Recompute a past run from its recorded inputs, config, models and seed and verify the
    decision file is byte-identical (exit 1 when it is not, naming re-delivered inputs)."""
    with open_cli_project() as (store, _):
        result = replay(store, run_id)
    rid, recorded, now = result.run_id, result.recorded_sha256, result.replayed_sha256
    if result.identical:
        console.print(f"{rid}: byte-identical (sha256 {recorded[:16]}…)")
        return
    for i, gone in enumerate(result.superseded[:5]):
        lead = f"run {rid} cannot be reproduced: its input" if i == 0 else "  and its input"
        console.print(f"{lead} {_superseded_text(gone)}", highlight=False, soft_wrap=True)
    if len(result.superseded) > 5:
        console.print(f"  and {len(result.superseded) - 5} more superseded input(s)")
    console.print(
        styled("{}: [red]differs[/]: recorded {}…, replayed {}…", rid, recorded[:16], now[:16])
    )
    raise typer.Exit(1)


def _superseded_text(gone: SupersededInput) -> str:
    at = "%Y-%m-%d %H:%M"
    return (
        f"{gone.table} {gone.partition} (batch {gone.old_batch_id}, file "
        f"{Path(gone.old_file).name}, loaded {gone.old_loaded_at:{at}}) was superseded by batch "
        f"{gone.new_batch_id} (file {Path(gone.new_file).name}) on {gone.new_loaded_at:{at}}"
    )
