"""``profile``: the data profile of the loaded tables, as a page and a one-screen summary."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nextbest.cli._context import handled, open_cli_project
from nextbest.cli._render import console
from nextbest.pipeline import DataProfile, ProfileReport, profile_project

#: how many columns, reasons and weeks the summary lists before "…"
_SHOWN = 5


def _tables(profile: DataProfile) -> Table:
    table = Table(title="Loaded data", title_justify="left")
    for col in ("table", "rows", "periods", "first", "latest", "missing weeks", "quarantined"):
        table.add_column(col, justify="left" if col == "table" else "right")
    for t in profile.tables:
        table.add_row(
            t.table,
            f"{t.rows:,}",
            f"{len(t.weeks)} ({t.period})",
            str(t.first),
            str(t.latest),
            str(len(t.missing_weeks)),
            f"{t.quarantined:,}",
        )
    return table


def _listed(items: list[str]) -> str:
    more = len(items) - _SHOWN
    return ", ".join(items[:_SHOWN]) + (f", … {more} more" if more > 0 else "")


def print_profile(report: ProfileReport) -> None:
    """The summary: tables, the most missing and most drifting columns, missing weeks,
    quarantine reasons and where the page is."""
    p = report.profile
    console.print(_tables(p))
    missing = p.most_missing(_SHOWN)
    console.print("Most missing:" + ("" if missing else " no column has a missing value."))
    for t, c in missing:
        worst = c.worst_week
        at = f" (worst {worst.week}: {worst.missing:.1%})" if worst else ""
        console.print(f"  {t.table}.{c.name}: {c.missing:.2%}{at}", highlight=False)
    drift = p.most_drift(_SHOWN)
    console.print("Most drift (PSI against the first period):" + ("" if drift else " none."))
    for t, c, w in drift:
        console.print(f"  {t.table}.{c.name}: {w.psi_first:.3f} on {w.week}", highlight=False)
    gaps = [t for t in p.tables if t.missing_weeks]
    console.print("Missing weeks:" + ("" if gaps else " none."))
    for t in gaps:
        console.print(f"  {t.table}: {_listed([str(d) for d in t.missing_weeks])}", highlight=False)
    rows = sum(q.rows for q in p.quarantine)
    console.print(
        f"Quarantine: {rows:,} row(s) for {len(p.quarantine)} reason(s)"
        + ("." if p.quarantine else "; every loaded row satisfied its contract.")
    )
    for q in p.quarantine[:_SHOWN]:
        example = "NULL" if q.example is None else repr(q.example)
        console.print(
            f"  {q.table}.{q.column} {q.rule}: {q.rows:,} (e.g. {example})", highlight=False
        )
    if len(p.quarantine) > _SHOWN:
        console.print(f"  … {len(p.quarantine) - _SHOWN} more; see 'nextbest quarantine'")
    console.print(f"wrote {report.report} (profiled in {p.seconds:.1f} s)", highlight=False)


@handled
def profile(
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE.html",
            help="Write the page here (default: reports/profile.html beside the store).",
        ),
    ] = None,
    table: Annotated[
        list[str] | None,
        typer.Option(
            "--table",
            metavar="TABLE",
            help="Only this table (repeat for more): snapshots, market_prices, conversions, "
            "email_events.",
        ),
    ] = None,
) -> None:
    """Profile the loaded data: per column type, missing share per week, distribution and its
    drift, outliers, quarantine reasons, missing weeks. Writes an offline HTML page."""
    if out is not None and out.suffix.lower() not in (".html", ".htm"):
        raise typer.BadParameter(f"--out must end in .html, got {out.name}")
    with open_cli_project() as (store, cfg):
        report = profile_project(store, cfg, out=out, tables=table)
    print_profile(report)
