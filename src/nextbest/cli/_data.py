"""Data commands: ``simulate``, ``ingest``, ``status``, ``quarantine``, ``features``,
``training-table`` and ``leakage``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nextbest.cli._context import (
    cli_config,
    handled,
    open_cli_project,
    parse_date,
    progress_reporter,
)
from nextbest.cli._render import console, print_findings, styled
from nextbest.cli._render_ingest import print_delivery
from nextbest.errors import NotFoundError
from nextbest.features import (
    build_features,
    loaded_snapshot_dates,
    resolve_features,
)
from nextbest.features import (
    training_table as features_training_table,
)
from nextbest.ingest import (
    LoadReport,
    configured_sources,
    contract_issues,
    ingest_source,
    ingest_summary,
    quarantine_rows,
    quarantine_summary,
    reload_files,
)
from nextbest.models import LeakageSettings
from nextbest.pipeline import (
    MAX_CATEGORIES,
    TABLE_SUFFIXES,
    FileHunt,
    action_audience,
    hunt_file,
    write_table,
)
from nextbest.simulate import SOURCES_FILE, Delivery, simulate_bank


@handled
def simulate(
    out: Annotated[Path, typer.Option(help="Folder to write the bank into.")] = Path("bank"),
    customers: Annotated[int, typer.Option(min=100)] = 20_000,
    weeks: Annotated[int, typer.Option(min=12)] = 78,
    seed: Annotated[int, typer.Option()] = 42,
    file_format: Annotated[
        str | None, typer.Option("--format", help="parquet or csv (default: parquet).")
    ] = None,
    dialect: Annotated[
        str,
        typer.Option(
            help="plain, or nl: CSV as a Dutch warehouse exports it (';', 1.234,56, "
            "dd-mm-yyyy, J/N, latin-1, Dutch column names), with the config lines that read it."
        ),
    ] = "plain",
    faults: Annotated[bool, typer.Option(help="Inject warehouse faults.")] = True,
    truth: Annotated[bool, typer.Option(help="Write the weekly true hazards.")] = True,
) -> None:
    """Generate the synthetic bank (snapshots, market, conversions, audit, ground truth)."""
    delivery = _delivery(file_format, dialect)
    with progress_reporter() as progress:
        manifest = simulate_bank(
            out,
            n_customers=customers,
            n_weeks=weeks,
            seed=seed,
            file_format=delivery.file_format,
            dialect=delivery.dialect,
            faults=faults,
            truth=truth,
            progress=lambda d, n: progress("Generating weeks", d, n),
        )
    late = manifest.faults.get("late_week")
    said = "no faults" if late is None else f"faults: week {late} late, a malformed and a null week"
    console.print(
        f"wrote {manifest.n_customers:,} customers × {manifest.n_weeks} weeks to {out} in "
        f"{manifest.seconds:.1f} s; {said}; manifest in {out / 'manifest.json'}"
    )
    if manifest.dialect == "nl":
        console.print(
            f"the [sources] lines that read it are in {out / SOURCES_FILE}; paste them into "
            "your nextbest.toml in place of its [sources] sections",
            highlight=False,
        )


def _delivery(file_format: str | None, dialect: str) -> Delivery:
    """The files ``simulate`` writes: ``--dialect nl`` is CSV."""
    if file_format not in (None, "parquet", "csv"):
        raise typer.BadParameter(f"--format must be parquet or csv, got {file_format!r}")
    if dialect not in ("plain", "nl"):
        raise typer.BadParameter(f"--dialect must be plain or nl, got {dialect!r}")
    if dialect == "nl":
        if file_format == "parquet":
            raise typer.BadParameter("--dialect nl writes CSV; leave out --format parquet")
        return Delivery("csv", "nl")
    return Delivery("csv" if file_format == "csv" else "parquet")


@handled
def ingest(
    sources: Annotated[
        list[str] | None,
        typer.Argument(help="Sources to load (default: all); with --reload, files or globs."),
    ] = None,
    reload: Annotated[
        bool, typer.Option("--reload", help="Read the named files again, even if unchanged.")
    ] = False,
) -> None:
    """Load the configured sources under their data contracts (idempotent). Every file is
    tried; exits 2 when a file was refused (the good ones stay loaded)."""
    cfg = cli_config()
    names = sources or configured_sources(cfg)
    if not names:
        raise NotFoundError("the config has no [sources.*] sections; see 'nextbest init'")
    reports: list[LoadReport] = []
    try:
        with open_cli_project() as (store, cfg), progress_reporter() as progress:
            if reload:
                reports.extend(reload_files(store, cfg, sources or []))
            for name in [] if reload else names:
                done: list[LoadReport] = []

                def on_file(
                    report: LoadReport, _name: str = name, _done: list[LoadReport] = done
                ) -> None:
                    _done.append(report)
                    reports.append(report)
                    progress(f"Loading {_name}", len(_done), len(_done))

                ingest_source(store, cfg, name, on_file=on_file, refused="report")
    finally:
        # also when a later source fails: say which files were loaded before it
        if reports:
            print_delivery(reports)
    if any(r.status == "refused" for r in reports):
        raise typer.Exit(2)


@handled
def status() -> None:
    """What is loaded per table: files, batches, rows, weeks, latest date, quarantined rows and
    contract issues; then the issues themselves."""
    with open_cli_project() as (store, _):
        summary = ingest_summary(store)
        issues = contract_issues(store)
    if not summary:
        console.print("nothing is loaded yet; run 'nextbest ingest'.")
        return
    table = Table(title="Loaded data", title_justify="left")
    columns = ("table", "files", "batches", "rows", "weeks", "latest", "quarantined", "issues")
    for col in columns:
        table.add_column(col, justify="left" if col in ("table", "latest") else "right")
    for t in summary:
        table.add_row(
            t.table,
            f"{t.files:,}",
            f"{t.batches:,}",
            f"{t.rows:,}",
            f"{t.weeks:,}",
            "-" if t.latest is None else t.latest.isoformat(),
            f"{t.quarantined:,}",
            f"{t.issues:,}" + (f" ({t.errors:,} errors)" if t.errors else ""),
        )
    console.print(table)
    if issues:
        console.print(f"{len(issues)} contract issue(s):")
        for i in issues:
            console.print(f"  {i['severity']}: {i['message']}", highlight=False)
    else:
        console.print("no contract issues.")


@handled
def quarantine(
    rows: Annotated[bool, typer.Option("--rows", help="List the rows, not the summary.")] = False,
    table_name: Annotated[str | None, typer.Option("--table", help="Only this table.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Rows that failed their contract, with the rule and the value."""
    with open_cli_project() as (store, _):
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


@handled
def leakage(
    file: Annotated[Path, typer.Argument(help="A CSV or Parquet table.")],
    time_column: Annotated[
        str,
        typer.Option(help="Period of each row: a date, a month and year, or an integer period."),
    ],
    target: Annotated[str, typer.Option(help="Two-valued outcome column (yes/no, J/N, 1/0, …).")],
    features: Annotated[
        str | None, typer.Option(help="Comma-separated columns (default: all the others).")
    ] = None,
    positive: Annotated[
        str | None,
        typer.Option(help="The target's positive value (default: the one in true_values)."),
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Read the file in this configured source's dialect.")
    ] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter, e.g. ';'.")] = None,
    decimal: Annotated[str | None, typer.Option(help="Decimal separator: '.' or ','.")] = None,
    thousands: Annotated[str | None, typer.Option(help="Thousands separator, e.g. '.'.")] = None,
    encoding: Annotated[
        str | None, typer.Option(help="utf-8, utf-8-sig, latin-1, cp1252 or utf-16.")
    ] = None,
    date_format: Annotated[
        str | None, typer.Option(help="strptime format of dates, e.g. '%d-%m-%Y'.")
    ] = None,
    null_values: Annotated[
        list[str] | None, typer.Option(help="A text meaning missing, e.g. 'n/a' (repeatable).")
    ] = None,
    id_column: Annotated[
        str | None, typer.Option(help="Customer column: random folds keep each on one side.")
    ] = None,
    max_categories: Annotated[
        int, typer.Option(min=2, help="Text with more distinct values is left out of the fits.")
    ] = MAX_CATEGORIES,
) -> None:
    """Hunt for leakage in your own table before modelling it (time keys, memorisation gap,
    too-good features), reading it as ingest reads a source. Exits 1 when a finding is
    critical."""
    cfg = cli_config(project=False)  # a file hunt: the defaults serve without a project
    given: dict[str, str | list[str] | None] = {
        "null_values": null_values,
        "delimiter": delimiter,
        "decimal": decimal,
        "thousands": thousands,
        "encoding": encoding,
        "date_format": date_format,
    }
    hunt = hunt_file(
        file,
        time_column=time_column,
        target=target,
        features=[f.strip() for f in features.split(",")] if features else None,
        settings=LeakageSettings.from_config(cfg.leakage),
        config=cfg,
        source=source,
        options={k: v for k, v in given.items() if v is not None},
        positive=positive,
        id_column=id_column,
        max_categories=max_categories,
    )
    console.print(_hunt_header(hunt), highlight=False, markup=False)
    for name, why in hunt.left_out:
        searched = " — still searched for time keys" if why.startswith("too many") else ""
        console.print(f"left out: {name} ({why}){searched}", highlight=False, markup=False)
    print_findings(hunt.findings)
    if any(f.severity == "critical" for f in hunt.findings):
        raise typer.Exit(1)


def _hunt_header(hunt: FileHunt) -> str:
    """What the hunt read: rows and periods, the dialect, the target and the features."""
    p, t, d = hunt.periods, hunt.target, hunt.dialect
    dialect = (
        ""
        if d is None
        else f"; read as {hunt.read_as}: delimiter {d.delimiter!r}, decimal {d.decimal!r}"
        f"{f', thousands {d.thousands!r}' if d.thousands else ''}, encoding {d.encoding}"
        f"{f', date_format {d.date_format!r}' if d.date_format else ''}"
        f"{f', null_values {d.null_values}' if d.null_values else ''}"
    )
    missing = f"; {t.n_missing:,} rows without a target value left out" if t.n_missing else ""
    text = set(hunt.text_features)
    customers = f" (folds over customers: {hunt.id_column})" if hunt.id_column else ""
    return (
        f"{hunt.path}: {hunt.rows:,} rows, {p.n_periods} periods ({p.reading}, {p.first} … "
        f"{p.last}){dialect}\ntarget {t.column}: positive = {t.positive!r} ({t.n_positive:,} of "
        f"{t.n_rows:,} rows), the other value {t.negative!r}{missing}\nfeatures{customers}: "
        + ", ".join(f"{f} (text)" if f in text else f for f in hunt.features)
    )


# -- features ------------------------------------------------------------------------------------
@handled
def features(
    date: Annotated[str, typer.Option(help="Snapshot date, or 'latest'.")] = "latest",
    out: Annotated[
        Path | None, typer.Option(help="Write the features to .parquet or .csv.")
    ] = None,
    describe: Annotated[bool, typer.Option("--describe", help="Explain each feature.")] = False,
) -> None:
    """Build point-in-time features for one snapshot date."""
    if out is not None:
        _table_file(out)
    cfg = cli_config(project=not describe)
    fs = resolve_features(cfg.features)
    if describe:
        for d in fs.describe():
            console.print(
                styled("[bold]{}[/] ({}): {}", d["name"], d["unit"], d["description"]),
                soft_wrap=True,
            )
        return
    with open_cli_project() as (store, cfg):
        dates = loaded_snapshot_dates(store)
        if not dates:
            raise NotFoundError("no snapshots are loaded; run 'nextbest ingest' first")
        day = dates[-1] if date == "latest" else parse_date(date, "--date")
        table = build_features(store, fs, [day])
    if out is not None:
        write_table(table, out)
        console.print(f"wrote {table.num_rows:,} rows to {out}")
    else:
        console.print(table.slice(0, 10).to_pandas().to_string(index=False))
        console.print(f"… {table.num_rows:,} customers on {day}")


@handled
def training_table(
    out: Annotated[Path, typer.Option(help="Write to .parquet or .csv.")],
    action: Annotated[
        str | None,
        typer.Option(
            help="Whose table: its audience, outcome and label window (default: the first action)."
        ),
    ] = None,
) -> None:
    """Features plus labels on snapshot dates sampled across history, for one action."""
    _table_file(out)
    cfg = cli_config()
    fs = resolve_features(cfg.features)
    spec = cfg.action(action) if action is not None else cfg.actions[0]
    with open_cli_project() as (store, cfg):
        dates, table = features_training_table(
            store,
            fs,
            cfg.training,
            label_weeks=spec.label_weeks,
            audience=action_audience(spec),
        )
    write_table(table, out)
    console.print(f"wrote {table.num_rows:,} rows on {len(dates)} dates to {out}")


def _table_file(out: Path) -> Path:
    """``out`` if it names a Parquet or CSV file (checked before any work is done)."""
    if out.suffix.lower() not in TABLE_SUFFIXES:
        raise typer.BadParameter(f"--out must end in .parquet or .csv, got {out.name}")
    return out
