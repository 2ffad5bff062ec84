"""The command line: Typer commands that parse arguments and delegate.

Errors nextbest raises on purpose are printed as one line (``error: …``) with exit code 2;
``--verbose`` shows the traceback as well.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import string
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from nextbest.config import Config, load_config
from nextbest.errors import NextbestError, NotFoundError, RunHaltedError
from nextbest.features import (
    build_features,
    build_training_table,
    loaded_snapshot_dates,
    resolve_features,
    training_dates,
)
from nextbest.ingest import (
    LoadReport,
    configured_sources,
    contract_issues,
    ingest_source,
    ingest_summary,
    quarantine_rows,
    quarantine_summary,
)
from nextbest.models import (
    Finding,
    get_version,
    list_versions,
    model_events,
    rollback,
)
from nextbest.pipeline import (
    CustomerExplanation,
    DemoResult,
    RunResult,
    TrainedAction,
    action_enabled,
    decide_review,
    due_week,
    explain_customer,
    explain_customers,
    export_run,
    hunt_file,
    knob_log,
    list_runs,
    market_series,
    open_project,
    promote,
    record_skipped,
    release_table,
    replay,
    review,
    run_backtest,
    run_demo,
    run_summary,
    run_week,
    set_knob,
    train_models,
    undelivered_alerts,
    write_backtest_report,
    write_config,
)
from nextbest.simulate import simulate_bank
from nextbest.store import Store, private_files

app = typer.Typer(
    name="nextbest",
    help="Next-Best-Action engine: weekly, measured, explained, approved.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
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

P = ParamSpec("P")
R = TypeVar("R")


class _State:
    config_path: Path | None = None
    verbose: bool = False


STATE = _State()

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Project config (default: $NEXTBEST_CONFIG or ./nextbest.toml)."
    ),
]


@app.callback()
def _root(
    config: ConfigOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks.")] = False,
) -> None:
    STATE.config_path = config
    STATE.verbose = verbose


def _handled(func: Callable[P, R]) -> Callable[P, R]:
    """Print nextbest errors as one line and exit 2 (traceback with --verbose)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except NextbestError as exc:
            if STATE.verbose:
                raise
            code = 3 if isinstance(exc, RunHaltedError) else 2
            # messages name settings like [sources.snapshots] and echo what the user typed
            err_console.print(styled("[bold red]error:[/] {}", exc), soft_wrap=True)
            if isinstance(exc, RunHaltedError) and exc.alert_failure:
                # the halt stands; the operator must hear of it some other way
                err_console.print(
                    styled(
                        "[bold yellow]warning:[/] the halt alert was not delivered: {}",
                        exc.alert_failure,
                    ),
                    soft_wrap=True,
                )
            raise typer.Exit(code) from None

    return wrapper


def _config(path: Path | None = None) -> Config:
    return load_config(path or STATE.config_path)


@contextmanager
def _project() -> Iterator[tuple[Store, Config]]:
    """The store and the effective config (the TOML with the operator's knobs) — every command
    that reads the store opens the project this way, so none can act on the TOML alone."""
    with open_project(_config()) as project:
        yield project.store, project.config


@contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    bars = Progress(
        TextColumn("{task.description:<34}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    tasks: dict[str, Any] = {}

    def update(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = bars.add_task(step, total=total)
        bars.update(tasks[step], completed=done, total=total)

    with bars:
        yield update


def _parse_date(value: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{what} must be a date like 2025-06-29, got {value!r}") from None


# -- demo ----------------------------------------------------------------------------------------
@app.command()
@_handled
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Demo project folder.")] = Path(
        "nextbest-demo"
    ),
    customers: Annotated[int, typer.Option(min=100, help="Customers in the bank.")] = 20_000,
    weeks: Annotated[int, typer.Option(min=12, help="Weekly snapshots of history.")] = 78,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic bank.")] = 42,
    fresh: Annotated[bool, typer.Option("--fresh", help="Delete the demo folder first.")] = False,
) -> None:
    """Generate a synthetic bank, ingest it under contracts and build features."""
    with _progress() as progress:
        result = run_demo(
            directory,
            n_customers=customers,
            n_weeks=weeks,
            seed=seed,
            fresh=fresh,
            progress=progress,
        )
    _print_demo(result)


def _print_demo(result: DemoResult) -> None:
    m = result.manifest
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
    loaded = [r for r in result.reports if r.status == "loaded"]
    unchanged = len(result.reports) - len(loaded)
    table = Table(title="Ingestion under data contracts", title_justify="left")
    for col in ("table", "files", "rows loaded", "rows quarantined", "issues"):
        table.add_column(col, justify="right" if col != "table" else "left")
    per: dict[str, list[LoadReport]] = {}
    for r in result.reports:
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
    issues = [i for r in result.reports for i in r.issues]
    for issue in issues:
        colour = "red" if issue.severity == "error" else "yellow"
        console.print(styled(f"  [{colour}]{{}}[/] {{}}", issue.severity, issue.message))
    late = m.faults.get("late_week")
    if late:
        console.print(
            styled(
                "  [yellow]note[/] the warehouse did not deliver the week of {} (it waits in "
                "bank/late/); features for later weeks fall back to the week before.",
                late,
            )
        )
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
            *(_fmt(row[k]) for k in ("min", "median", "max")),
        )
    console.print(feats)
    console.print(
        f"Training table: {result.training_rows:,} rows of non-investors on "
        f"{len(result.training_dates)} dates ({result.training_dates[0]} … "
        f"{result.training_dates[-1]}); {result.training_base_rate:.2%} started investing "
        "within the label window."
    )
    _print_training(result.trained)
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
    _print_run(result.run)
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


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


# -- project set-up and data ---------------------------------------------------------------------
@app.command()
@_handled
def init(
    path: Annotated[Path, typer.Argument(help="Config file to write.")] = Path("nextbest.toml"),
    data: Annotated[str, typer.Option(help="Folder with the warehouse exports.")] = "bank",
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter config."""
    write_config(path, data_dir=data, force=force)
    console.print(
        f"wrote {path}; edit the [sources] paths and column mappings, then run 'nextbest ingest'"
    )


@app.command()
@_handled
def simulate(
    out: Annotated[Path, typer.Option(help="Folder to write the bank into.")] = Path("bank"),
    customers: Annotated[int, typer.Option(min=100)] = 20_000,
    weeks: Annotated[int, typer.Option(min=12)] = 78,
    seed: Annotated[int, typer.Option()] = 42,
    file_format: Annotated[str, typer.Option("--format", help="parquet or csv")] = "parquet",
    faults: Annotated[bool, typer.Option(help="Inject warehouse faults.")] = True,
    truth: Annotated[bool, typer.Option(help="Write the weekly true hazards.")] = True,
) -> None:
    """Generate the synthetic bank (snapshots, market, conversions, audit, ground truth)."""
    if file_format not in ("parquet", "csv"):
        raise typer.BadParameter(f"--format must be parquet or csv, got {file_format!r}")
    with _progress() as progress:
        manifest = simulate_bank(
            out,
            n_customers=customers,
            n_weeks=weeks,
            seed=seed,
            file_format="csv" if file_format == "csv" else "parquet",
            faults=faults,
            truth=truth,
            progress=lambda d, n: progress("Generating weeks", d, n),
        )
    console.print(
        f"wrote {manifest.n_customers:,} customers × {manifest.n_weeks} weeks to {out} in "
        f"{manifest.seconds:.1f} s; faults: {json.dumps(manifest.faults.get('late_week'))} late, "
        f"manifest in {out / 'manifest.json'}"
    )


@app.command()
@_handled
def ingest(
    sources: Annotated[
        list[str] | None,
        typer.Argument(help="Sources to load (default: all in the config)."),
    ] = None,
) -> None:
    """Load the configured sources under their data contracts (idempotent)."""
    cfg = _config()
    names = sources or configured_sources(cfg)
    if not names:
        raise NotFoundError("the config has no [sources.*] sections; see 'nextbest init'")
    with _project() as (store, cfg), _progress() as progress:
        reports: list[LoadReport] = []
        for name in names:
            done: list[LoadReport] = []

            def on_file(
                report: LoadReport, _name: str = name, _done: list[LoadReport] = done
            ) -> None:
                _done.append(report)
                progress(f"Loading {_name}", len(_done), len(_done))

            reports.extend(ingest_source(store, cfg, name, on_file=on_file))
    for r in reports:
        if r.status == "unchanged":
            continue
        console.print(
            f"{r.table}: {Path(r.source_file).name}: {r.rows_loaded:,} loaded, "
            f"{r.rows_quarantined:,} quarantined"
            + (
                f", replaced {r.partitions_replaced} earlier partition(s)"
                if r.partitions_replaced
                else ""
            ),
            highlight=False,
        )
        for issue in r.issues:
            console.print(f"  {issue.severity}: {issue.message}", highlight=False)
    skipped = sum(r.status == "unchanged" for r in reports)
    console.print(f"{len(reports) - skipped} file(s) loaded, {skipped} unchanged and skipped.")


@app.command()
@_handled
def status() -> None:
    """What is loaded: batches, rows, partitions, contract issues."""
    with _project() as (store, _):
        summary = ingest_summary(store)
        issues = contract_issues(store)
    table = Table(title="Loaded data", title_justify="left")
    for col in ("table", "batches", "rows loaded", "rows quarantined", "partitions", "latest"):
        table.add_column(col)
    for row in summary:
        table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in row.values()))
    console.print(table)
    if issues:
        console.print(f"{len(issues)} contract issue(s):")
        for i in issues:
            console.print(f"  {i['severity']}: {i['message']}", highlight=False)
    else:
        console.print("no contract issues.")


@app.command()
@_handled
def quarantine(
    rows: Annotated[bool, typer.Option("--rows", help="List the rows, not the summary.")] = False,
    table_name: Annotated[str | None, typer.Option("--table", help="Only this table.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Rows that failed their contract, with the rule and the value."""
    with _project() as (store, _):
        if rows:
            for r in quarantine_rows(store, table=table_name, limit=limit):
                console.print(
                    f"{Path(r['file']).name} row {r['row']}: {r['column']} {r['rule']} "
                    f"(value {r['value']!r})  {r['record']}",
                    highlight=False,
                    soft_wrap=True,
                )
            return
        summary = quarantine_summary(store)
    if not summary:
        console.print("quarantine is empty: every loaded row satisfied its contract.")
        return
    table = Table(title="Quarantine", title_justify="left")
    for col in ("table", "file", "column", "rule", "rows", "first row", "example"):
        table.add_column(col)
    for r in summary:
        if table_name and r["table"] != table_name:
            continue
        table.add_row(
            r["table"],
            Path(r["file"]).name,
            r["column"],
            r["rule"],
            str(r["rows"]),
            str(r["first_row"]),
            str(r["example"]),
        )
    console.print(table)
    console.print("Show the rows with 'nextbest quarantine --rows'.")


def _print_training(trained: list[TrainedAction]) -> None:
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
        _print_findings(t.findings)
        oracle = t.result.metrics.get("oracle")
        chosen = t.result.metrics[t.version.kind]
        _print_gate(t.version.version, t.version.status, chosen)
        if oracle:
            console.print(
                f"  The deployed {t.version.kind} model reaches "
                f"{chosen['pr_auc'] / oracle['pr_auc']:.0%} of the ground-truth oracle's PR-AUC "
                f"and {chosen['lift_at_bucket'] / oracle['lift_at_bucket']:.0%} of its lift "
                f"at the weekly bucket of {chosen['bucket']}."
            )


def _print_gate(version: str, status: str, metrics: dict[str, Any]) -> None:
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


def _print_findings(findings: list[Finding]) -> None:
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


def _print_run(run: RunResult) -> None:
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


@app.command()
@_handled
def train() -> None:
    """Train every action's model on a time split and register it."""
    with _project() as (store, cfg), _progress() as progress:
        trained = train_models(store, cfg, progress=progress)
    _print_training(trained)


def _login_name() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        raise typer.BadParameter("cannot tell who you are from the login; pass --by NAME") from None


@app.command("run")
@_handled
def run_cmd(
    date: Annotated[str | None, typer.Option(help="Snapshot date (default: the latest).")] = None,
    week: Annotated[
        str | None, typer.Option(help="'auto': the due week, for cron or an orchestrator.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the arms (default [run] seed).")] = None,
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
    actor = by or ("system" if week == "auto" else _login_name())
    with _project() as (store, eff):
        if week is not None and week != "auto":
            raise typer.BadParameter(f"--week takes 'auto', got {week!r}")
        day = None if date in (None, "latest") else _parse_date(str(date), "--date")
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
        with _progress() as progress:
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
    _print_run(result)
    console.print(f"  started by {actor} (someone else approves it)", highlight=False)
    for old in result.superseded:
        console.print(
            f"  supersedes {old}: it can no longer be approved or exported", highlight=False
        )
    warns = [c for c in result.checks if c.verdict != "pass"]
    for c in warns:
        console.print(f"  check {c.verdict}: {c.name}: {c.message}", highlight=False)


@app.command()
@_handled
def runs() -> None:
    """The runs, newest first, and any halt whose alert was never delivered."""
    with _project() as (store, _):
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


def _why(e: CustomerExplanation) -> list[tuple[str, str]]:
    """A customer's explanation as (label, text) lines; per-action labels start with it."""
    lines = [("run", e.run_id), ("relation", str(e.relation_id))]
    for a in e.actions:
        trail = "; ".join(f"{'✓' if c.passed else '✗'} {c.rule}" for c in a.eligibility)
        arm = f"{a.arm} (assignment probability {a.assignment_probability:.3f})"
        lines += [(f"{a.action}: arm", arm), (f"{a.action}: eligibility", trail)]
        if a.first_failed_rule:
            lines.append((f"{a.action}: first failing rule", a.first_failed_rule))
        rank = f", rank {a.rank}" if a.rank else ""
        lines.append((f"{a.action}: score", f"{a.score:.4f} (threshold {a.threshold:g}){rank}"))
        lines.append((f"{a.action}: reasons", a.reasons))
    shares = [
        "" if f.share_below is None else f" (higher than {f.share_below:.0%} of customers)"
        for f in e.features
    ]
    facts = sorted(zip(e.features, shares, strict=True), key=lambda p: p[0].market_wide)
    lines.append(("features", "; ".join(f.text + share for f, share in facts)))
    return lines


@app.command()
@_handled
def show(
    run_id: Annotated[str, typer.Argument(help="Run id, e.g. 2025-06-29-r1, or 'latest'.")],
    customer: Annotated[int | None, typer.Option(help="Explain one relation number.")] = None,
    sample: Annotated[int, typer.Option(help="Random selected customers to show.")] = 10,
) -> None:
    """A run's counts and a random sample of the selected, or why one customer got their arm."""
    with _project() as (store, cfg):
        if customer is not None:
            info = explain_customer(store, cfg, run_id, customer)
            for key, value in _why(info):
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


@app.command()
@_handled
def leakage(
    file: Annotated[Path, typer.Argument(help="A CSV or Parquet table.")],
    time_column: Annotated[str, typer.Option(help="Column with the date of each row.")],
    target: Annotated[str, typer.Option(help="0/1 outcome column.")],
    features: Annotated[
        str | None, typer.Option(help="Comma-separated columns (default: all numeric).")
    ] = None,
) -> None:
    """Hunt for leakage in your own table before modelling it (time keys, memorisation gap,
    too-good features). Exits 1 when a finding is critical."""
    cfg = _config()
    from nextbest.models import LeakageSettings

    findings, info = hunt_file(
        file,
        time_column=time_column,
        target=target,
        features=[f.strip() for f in features.split(",")] if features else None,
        settings=LeakageSettings.from_config(cfg.leakage),
    )
    console.print(
        f"{file}: {info['rows']:,} rows on {info['dates']} dates; features "
        f"{', '.join(info['features'])}",
        highlight=False,
    )
    _print_findings(findings)
    if any(f.severity == "critical" for f in findings):
        raise typer.Exit(1)


@app.command()
@_handled
def backtest(
    action: Annotated[str | None, typer.Option(help="Action (default: the first).")] = None,
    start: Annotated[str | None, typer.Option(help="First week to replay.")] = None,
    end: Annotated[str | None, typer.Option(help="Last week to replay.")] = None,
) -> None:
    """Replay history week by week with models trained on what was known then; writes a
    report with the weekly plots. Exits 1 when a configured expectation fails."""
    from nextbest.features import resolve_features
    from nextbest.models import list_versions, record_backtest

    with _project() as (store, cfg), _progress() as progress:
        result = run_backtest(
            store,
            cfg,
            action_name=action,
            start=_parse_date(start, "--start") if start else None,
            end=_parse_date(end, "--end") if end else None,
            progress=progress,
        )
        fund = resolve_features(cfg.features).market_fund
        market = market_series(store, fund, result.weeks[0].week, result.weeks[-1].week)
        versions = list_versions(store, result.action)
        if versions:
            record_backtest(store, versions[0].version, result.summary)
    out = (
        cfg.resolve(cfg.store.path).parent
        / "backtests"
        / (f"{result.action}-{result.summary['first_week']}-{result.summary['last_week']}.html")
    )
    write_backtest_report(result, out, market=market)
    table = Table(
        title=f"History replay — {result.action} ({result.seconds:.0f} s)", title_justify="left"
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
    for w in result.weeks:
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
    s = result.summary
    console.print(
        f"weekly volume: max {s['max_weekly_volume']:,}, median {s['median_weekly_volume']:,} "
        f"(max/median {s['max_to_median']:.2f}); {s['weeks_outside_bounds']} week(s) outside "
        f"the bounds; mean realised lift {s['mean_lift'] or float('nan'):.2f}",
        highlight=False,
    )
    for w in s["worst_weeks"]:
        console.print(f"  worst: {w['week']}: {w['why']}", highlight=False)
    failed = False
    for e in result.expectations:
        mark = "[green]✓[/]" if e["passed"] else "[red]✗[/]"
        console.print(
            styled(
                f"  {mark} {{}}{{}}",
                e["expect"],
                f": {'; '.join(e['violations'])}" if e["violations"] else "",
            )
        )
        failed |= not e["passed"]
    console.print(f"report: {out} (weeks as CSV beside it)")
    if failed:
        raise typer.Exit(1)


@app.command("review")
@_handled
def review_cmd(
    run_id: Annotated[str, typer.Argument(help="Run id or 'latest'.")] = "latest",
    sample: Annotated[int, typer.Option(help="Selected customers to show.")] = 10,
) -> None:
    """Everything to check before approving: counts, volume vs band, checks, a sample with
    features and reasons, the overlap with last week."""
    with _project() as (store, cfg):
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
                " | ".join(
                    f"{k.split(': ')[-1]}: {v}" for k, v in _why(d) if k not in ("run", "relation")
                ),
            ),
            soft_wrap=True,
        )
    for e in r.events:
        console.print(f"  {str(e.at)[:19]} {e.event} by {e.actor}: {e.comment}", highlight=False)


@app.command()
@_handled
def approve(
    run_id: Annotated[str, typer.Argument()],
    by: Annotated[str, typer.Option(help="Your name (recorded).")],
    comment: Annotated[str, typer.Option(help="What you checked.")] = "",
) -> None:
    """Approve a run after review (four eyes: not by who started it). Name the run; 'latest'
    is refused."""
    with _project() as (store, _):
        status = decide_review(store, run_id, approve=True, actor=by, comment=comment)
    console.print(f"{run_id}: {status}")


@app.command()
@_handled
def reject(
    run_id: Annotated[str, typer.Argument()],
    by: Annotated[str, typer.Option(help="Your name (recorded).")],
    comment: Annotated[str, typer.Option(help="Why.")] = "",
) -> None:
    """Reject a run; it is never exported. Name the run; 'latest' is refused."""
    with _project() as (store, _):
        status = decide_review(store, run_id, approve=False, actor=by, comment=comment)
    console.print(f"{run_id}: {status}")


@app.command("export")
@_handled
def export_cmd(
    run_id: Annotated[str, typer.Argument()],
    by: Annotated[str, typer.Option(help="Your name (recorded).")] = "system",
) -> None:
    """Write the hand-off file for the e-mail tool (approved runs only; idempotent: again, it
    verifies the files and rewrites a missing or damaged one). Name the run; 'latest' is
    refused."""
    with _project() as (store, cfg):
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


@app.command("replay")
@_handled
def replay_cmd(run_id: Annotated[str, typer.Argument()]) -> None:
    """Recompute a past run from its recorded inputs, config, models and seed and verify the
    decision file is byte-identical (exit 1 when it is not)."""
    with _project() as (store, _):
        same, recorded, now = replay(store, run_id)
    if same:
        console.print(f"{run_id}: byte-identical (sha256 {recorded[:16]}…)")
        return
    console.print(
        styled("{}: [red]differs[/]: recorded {}…, replayed {}…", run_id, recorded[:16], now[:16])
    )
    raise typer.Exit(1)


knobs_app = typer.Typer(help="The operator's knobs, each change logged.", no_args_is_help=True)
app.add_typer(knobs_app, name="knobs")


@knobs_app.command("show")
@_handled
def knobs_show() -> None:
    """Current knob values per action and the change log."""
    with _project() as (store, eff):
        log = knob_log(store)
        enabled = {a.name: action_enabled(store, a.name) for a in eff.actions}
    from nextbest.pipeline import KNOBS

    for a in eff.actions:
        console.print(styled("[bold]{}[/]", a.name))
        for knob, what in KNOBS.items():
            value = enabled[a.name] if knob == "enabled" else getattr(a, knob)
            console.print(f"  {knob} = {value}   ({what})", highlight=False)
    for e in log:
        console.print(
            f"{str(e['at'])[:19]} {e['action']}.{e['knob']}: {e['old']} → {e['new']} "
            f"by {e['by']}: {e['reason']}",
            highlight=False,
        )


@knobs_app.command("set")
@_handled
def knobs_set(
    setting: Annotated[
        str, typer.Argument(help="ACTION.KNOB=VALUE, e.g. invest-onboarding.threshold=0.04")
    ],
    by: Annotated[str, typer.Option(help="Your name (recorded).")],
    reason: Annotated[str, typer.Option(help="Why (recorded).")],
) -> None:
    """Change one knob (validated; logged with who, when, old → new, why)."""
    if "=" not in setting or "." not in setting.split("=", 1)[0]:
        raise typer.BadParameter(f"expected ACTION.KNOB=VALUE, got {setting!r}")
    key, value = setting.split("=", 1)
    action, knob = key.rsplit(".", 1)
    with _project() as (store, cfg):
        old, new, warning = set_knob(store, cfg, action, knob, value, actor=by, reason=reason)
    console.print(f"{action}.{knob}: {old} → {new}")
    if warning:
        console.print(styled("[yellow]warning:[/] {}", warning))


@app.command("simulate-outcomes")
@_handled
def simulate_outcomes_cmd(
    run_id: Annotated[str, typer.Argument(help="An exported run of the demo bank.")],
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Synthetic bank only: draw the run's outcomes from the ground truth (incl. the true mail
    effect) and ingest them as the warehouse's later delivery."""
    cfg = _config()
    from nextbest.pipeline import simulate_outcomes

    bank = cfg.resolve(cfg.sources.snapshots.path).parent if cfg.sources.snapshots else None
    if bank is None:
        raise NotFoundError("no [sources.snapshots] in the config: where is the bank?")
    with _project() as (store, cfg):
        n = simulate_outcomes(store, cfg, bank, run_id, seed=seed)
    console.print(f"{run_id}: {n:,} conversions drawn and ingested")


@app.command()
@_handled
def evaluate(
    uplift: Annotated[
        float, typer.Option(help="Target absolute uplift for power planning.")
    ] = 0.005,
) -> None:
    """What the exported runs achieved: per arm with 95% intervals, incremental conversion and
    amount, the model's lift, other thresholds (IPW), and power; writes a CSV of every figure."""
    import csv

    from nextbest.evaluation import evaluate_runs, power_plan

    with _project() as (store, cfg):
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

            with _project() as (store, cfg):
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
    with _project() as (store, cfg):
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

    with _project() as (store, cfg):
        recent = [r.run_id for r in results if r.run_id != "pooled"]
        groups = selection_by_group(store, recent)
    report = write_evaluation_report(out.with_name("report.html"), results, health, groups)
    console.print(f"\nevery figure: {out}\nreport (opens offline): {report}")


@app.command()
@_handled
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


@app.command()
@_handled
def fairness(
    runs_: Annotated[int, typer.Option("--runs", help="The last N runs make the period.")] = 12,
) -> None:
    """Who is never selected and why; selection rates per group (age band, segment, and —
    from the audit-only table — gender and postcode area), the law and the model apart; and
    features that act as proxies of a sensitive attribute."""
    from nextbest.evaluation import never_selected, proxy_check, selection_by_group

    with _project() as (store, cfg):
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


@app.command("api-token")
@_handled
def api_token(
    name: Annotated[str, typer.Argument(help="Who the token is for.")],
    role: Annotated[str, typer.Argument(help="viewer, operator or admin")],
) -> None:
    """Make an API token: prints the token (give it to its owner) and the entry to add to
    NEXTBEST_API_TOKENS (only its sha256 is kept)."""
    from nextbest.api import ROLES, hash_token, new_token
    from nextbest.api._auth import NAME_PATTERN

    if role not in ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if not NAME_PATTERN.fullmatch(name):
        raise typer.BadParameter(
            f"the name {name[:70]!r} is not allowed: use 1 to 64 characters of A-Za-z0-9 . _ -"
        )
    token = new_token()
    console.print(f"token for {name}: {token}")
    console.print(f"add to NEXTBEST_API_TOKENS: {name}:{role}:{hash_token(token)}")


@app.command()
@_handled
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """Serve the JSON API and the console on the embedded store (needs NEXTBEST_API_TOKENS).
    Beyond 127.0.0.1, serve it behind https: the console's session cookie is Secure there."""
    import uvicorn

    from nextbest.api import create_app

    cfg = _config()
    app = create_app(
        cfg,
        max_body_bytes=cfg.api.max_body_bytes,
        store_wait_seconds=cfg.api.store_wait_seconds,
    )
    uvicorn.run(app, host=host, port=port, log_level="info")


models_app = typer.Typer(
    help="Model versions: list, card, compare, promote, rollback.", no_args_is_help=True
)
app.add_typer(models_app, name="models")


@models_app.command("list")
@_handled
def models_list(action: Annotated[str | None, typer.Option()] = None) -> None:
    """Versions with status, training window and headline figures."""
    with _project() as (store, _):
        versions = list_versions(store, action)
    table = Table(title="Model versions", title_justify="left")
    for col in (
        "version",
        "status",
        "kind",
        "trained on",
        "PR-AUC",
        "ROC-AUC",
        "lift",
        "gate",
        "critical",
    ):
        table.add_column(col, no_wrap=True)
    for v in versions:
        gate = v.metrics.get("gate")
        table.add_row(
            v.version,
            v.status,
            v.kind,
            f"{v.train_first} … {v.train_last}",
            f"{v.metrics.get('pr_auc', float('nan')):.4f}",
            f"{v.metrics.get('roc_auc', float('nan')):.3f}",
            f"{v.metrics.get('lift_at_bucket', float('nan')):.2f}",
            "—" if not gate else "passed" if gate["passed"] else "failed",
            str(len(v.critical)),
        )
    console.print(table)


@models_app.command("show")
@_handled
def models_show(version: Annotated[str, typer.Argument()]) -> None:
    """The model card, findings, backtest summary and history of a version."""
    with _project() as (store, _):
        v = get_version(store, version)
        events = [e for e in model_events(store, v.action) if e["version"] == version]
    console.print(v.card or "(no model card)", highlight=False, markup=False)
    if v.backtest:
        console.print(f"backtest: {v.backtest}", highlight=False)
    for e in events:
        console.print(
            f"{str(e['at'])[:19]} {e['event']}: {e['from']} → {e['to']} by "
            f"{e['actor']}: {e['reason']}",
            highlight=False,
        )


@models_app.command("compare")
@_handled
def models_compare(
    candidate: Annotated[str, typer.Argument()], champion: Annotated[str, typer.Argument()]
) -> None:
    """The release table: both models on the same recent weeks, each line pass or fail."""
    with _project() as (store, cfg):
        lines = release_table(store, cfg, candidate, champion)
    _print_release(lines, candidate, champion)


def _print_release(lines: list[Any], candidate: str, champion: str) -> None:
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


@models_app.command("promote")
@_handled
def models_promote(
    version: Annotated[str, typer.Argument()],
    to: Annotated[str, typer.Option(help="shadow or champion")],
    by: Annotated[str, typer.Option(help="Your name (recorded).")],
    reason: Annotated[str, typer.Option(help="Why (recorded).")],
    override: Annotated[
        str | None, typer.Option(help="Written reason to override a failed gate (recorded).")
    ] = None,
) -> None:
    """Promote a version to shadow or champion, through the release gate."""
    if to not in ("shadow", "champion"):
        raise typer.BadParameter(f"--to must be shadow or champion, got {to!r}")
    with _project() as (store, cfg):
        v, lines = promote(store, cfg, version, to=to, actor=by, reason=reason, override=override)
    if lines:
        _print_release(lines, version, "previous champion")
    console.print(f"{v.version} is now {v.status}.")


@models_app.command("rollback")
@_handled
def models_rollback(
    action: Annotated[str, typer.Argument()],
    by: Annotated[str, typer.Option(help="Your name (recorded).")],
    reason: Annotated[str, typer.Option(help="Why (recorded).")],
) -> None:
    """Retire the champion of an action and bring back the one before it."""
    with _project() as (store, _):
        v = rollback(store, action, actor=by, reason=reason)
    console.print(f"{v.version} is champion again.")


# -- features ------------------------------------------------------------------------------------
@app.command()
@_handled
def features(
    date: Annotated[str, typer.Option(help="Snapshot date, or 'latest'.")] = "latest",
    out: Annotated[
        Path | None, typer.Option(help="Write the features to .parquet or .csv.")
    ] = None,
    describe: Annotated[bool, typer.Option("--describe", help="Explain each feature.")] = False,
) -> None:
    """Build point-in-time features for one snapshot date."""
    cfg = _config()
    fs = resolve_features(cfg.features)
    if describe:
        for d in fs.describe():
            console.print(
                styled("[bold]{}[/] ({}): {}", d["name"], d["unit"], d["description"]),
                soft_wrap=True,
            )
        return
    with _project() as (store, cfg):
        dates = loaded_snapshot_dates(store)
        if not dates:
            raise NotFoundError("no snapshots are loaded; run 'nextbest ingest' first")
        day = dates[-1] if date == "latest" else _parse_date(date, "--date")
        table = build_features(store, fs, [day])
    if out is not None:
        _write_table(table, out)
        console.print(f"wrote {table.num_rows:,} rows to {out}")
    else:
        console.print(table.slice(0, 10).to_pandas().to_string(index=False))
        console.print(f"… {table.num_rows:,} customers on {day}")


@app.command("training-table")
@_handled
def training_table(
    out: Annotated[Path, typer.Option(help="Write to .parquet or .csv.")],
) -> None:
    """Features plus labels on snapshot dates sampled across history."""
    cfg = _config()
    fs = resolve_features(cfg.features)
    with _project() as (store, cfg):
        dates = training_dates(store, cfg.training)
        table = build_training_table(
            store,
            fs,
            dates,
            label_weeks=cfg.training.label_weeks,
            customer_fraction=cfg.training.customer_fraction,
            seed=cfg.training.seed,
        )
    _write_table(table, out)
    console.print(f"wrote {table.num_rows:,} rows on {len(dates)} dates to {out}")


def _write_table(table: Any, out: Path) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    if out.suffix.lower() == ".csv":
        pacsv.write_csv(table, tmp)
    elif out.suffix.lower() in (".parquet", ".pq"):
        pq.write_table(table, tmp)
    else:
        raise typer.BadParameter(f"--out must end in .parquet or .csv, got {out.name}")
    tmp.replace(out)


def main() -> None:
    """Entry point of the ``nextbest`` command."""
    # everything this process writes (store, audit database, decision files, exports,
    # reports) is readable by its owner only
    private_files()
    app()
