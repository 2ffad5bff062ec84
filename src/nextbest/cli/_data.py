"""Data commands: ``simulate``, ``ingest``, ``status``, ``quarantine``, ``features``,
``training-table`` and ``leakage``."""

from __future__ import annotations

import json
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
    TABLE_SUFFIXES,
    hunt_file,
    write_table,
)
from nextbest.simulate import simulate_bank


@handled
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
    with progress_reporter() as progress:
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
    """Load the configured sources under their data contracts (idempotent)."""
    cfg = cli_config()
    names = sources or configured_sources(cfg)
    if not names:
        raise NotFoundError("the config has no [sources.*] sections; see 'nextbest init'")
    with open_cli_project() as (store, cfg), progress_reporter() as progress:
        reports: list[LoadReport] = reload_files(store, cfg, sources or []) if reload else []
        for name in [] if reload else names:
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


@handled
def status() -> None:
    """What is loaded: batches, rows, partitions, contract issues."""
    with open_cli_project() as (store, _):
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
    time_column: Annotated[str, typer.Option(help="Column with the date of each row.")],
    target: Annotated[str, typer.Option(help="0/1 outcome column.")],
    features: Annotated[
        str | None, typer.Option(help="Comma-separated columns (default: all numeric).")
    ] = None,
) -> None:
    """Hunt for leakage in your own table before modelling it (time keys, memorisation gap,
    too-good features). Exits 1 when a finding is critical."""
    cfg = cli_config()

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
    print_findings(findings)
    if any(f.severity == "critical" for f in findings):
        raise typer.Exit(1)


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
    cfg = cli_config()
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
) -> None:
    """Features plus labels on snapshot dates sampled across history."""
    _table_file(out)
    cfg = cli_config()
    fs = resolve_features(cfg.features)
    with open_cli_project() as (store, cfg):
        dates, table = features_training_table(store, fs, cfg.training)
    write_table(table, out)
    console.print(f"wrote {table.num_rows:,} rows on {len(dates)} dates to {out}")


def _table_file(out: Path) -> Path:
    """``out`` if it names a Parquet or CSV file (checked before any work is done)."""
    if out.suffix.lower() not in TABLE_SUFFIXES:
        raise typer.BadParameter(f"--out must end in .parquet or .csv, got {out.name}")
    return out
