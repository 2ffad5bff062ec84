"""``nextbest inspect FILE``: the dialect, the mapping and the lines to paste for a new export."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from nextbest.cli._context import STATE, handled
from nextbest.cli._render import console, styled
from nextbest.ingest import Inspection, inspect_file


@handled
def inspect(
    file: Annotated[
        Path,
        typer.Argument(help="The export to read: a CSV or Parquet file (or a folder or glob)."),
    ],
    source: Annotated[
        str | None,
        typer.Option(help="Read it as this source (default: guessed from its columns)."),
    ] = None,
) -> None:
    """Sniff an export and print the [sources.*] lines that read it, with a preview of the
    first rows as read and what would be quarantined. Nothing is written."""
    print_inspection(inspect_file(file, source=source, path_text=_path_for_config(file)))


def _path_for_config(file: Path) -> str:
    """The file's path as the config should hold it: relative to the config's folder (given
    with --config, else the current one) when the file is inside it."""
    base = (STATE.config_path.parent if STATE.config_path else Path()).resolve()
    target = file.resolve()
    if target.is_relative_to(base):
        return Path(os.path.relpath(target, base)).as_posix()
    return str(target)


def print_inspection(result: Inspection) -> None:
    """The inspection in four parts: dialect, columns, lines to paste, preview."""
    _print_dialect(result)
    _print_columns(result)
    console.print(styled("\n[bold]Lines to paste into nextbest.toml[/]"))
    console.print(result.toml, soft_wrap=True, highlight=False)
    _print_preview(result)


def _print_dialect(result: Inspection) -> None:
    d = result.dialect
    console.print(styled("[bold]{}[/] ({})", result.path, d.format), highlight=False)
    if result.matched > 1:
        console.print(
            styled("  the first of {} files matching {}", result.matched, result.source.path)
        )
    if d.format == "csv":
        rows = [
            ("delimiter", repr(d.delimiter)),
            ("header", "yes" if d.header else "no"),
            ("quote", "none" if d.quote == "(empty)" else repr(d.quote)),
            ("encoding", d.encoding_label),
            ("decimal", repr(d.decimal)),
            ("thousands", repr(d.thousands) if d.thousands else "none"),
            ("dates", d.date_format or "ISO (YYYY-MM-DD)"),
            ("yes / no", _vocabulary(d.true_values, d.false_values)),
            ("nulls", ", ".join([*(repr(v) for v in d.null_values), "empty"])),
        ]
        for name, value in rows:
            console.print(f"  {name:<10} {value}", highlight=False)
    for note in d.notes:
        console.print(styled("  [yellow]note[/] {}", note))


def _vocabulary(trues: tuple[str, ...], falses: tuple[str, ...]) -> str:
    if not trues and not falses:
        return "none found"
    return f"{' '.join(trues) or '-'} / {' '.join(falses) or '-'}"


def _print_columns(result: Inspection) -> None:
    m = result.mapping
    how = "guessed; --source NAME to choose" if result.guessed else "as asked"
    console.print(styled("\n[bold]Columns, read as {}[/] ({})", m.source, how))
    table = Table()
    for col in ("file column", "DuckDB type", "looks like", "contract column", "similarity"):
        table.add_column(col)
    by_file = {fc: c for c, fc in m.columns.items()}
    for c in result.dialect.columns:
        mapped = by_file.get(c.name)
        score = f"{m.scores[mapped]:.2f}" if mapped else ""
        kind = f"date {c.date_format}" if c.date_format else c.kind
        table.add_row(c.name, c.duckdb_type, kind, mapped or "(not used)", score)
    console.print(table)
    if not m.columns:
        console.print(
            styled("  [red]no column matched[/] a column of any source; name it with --source")
        )
    for col in m.unmapped:
        console.print(styled("  [yellow]TODO[/] no column of the file matched {}", col))
    if result.missing:
        console.print(
            styled(
                "  [red]ingest will refuse this file[/] until these required columns are mapped "
                "in [sources.{}.columns]: {}",
                m.source,
                ", ".join(result.missing),
            )
        )


def _cell(value: Any) -> str:
    return "NULL" if value is None else str(value)


def _print_preview(result: Inspection) -> None:
    p = result.preview
    if not p.rows_read:
        console.print(styled("[red]The file has no data rows[/]: ingest refuses it."))
        return
    if p.columns:
        console.print(styled("[bold]The first {} row(s) as they would be read[/]", len(p.rows)))
        table = Table()
        table.add_column("column")
        for r in p.rows:
            table.add_column(f"row {r[0]}")
        for i, col in enumerate(p.columns, start=1):
            table.add_row(col, *(_cell(r[i]) for r in p.rows))
        console.print(table)
    if not p.quarantine:
        console.print(f"Nothing would be quarantined: all {p.rows_read:,} rows read.")
    else:
        console.print(
            styled(
                "[bold]Would be quarantined: {:,} of {:,} rows[/]", p.rows_quarantined, p.rows_read
            )
        )
        q = Table()
        for col in ("column", "rule", "rows", "first row", "example"):
            q.add_column(col, justify="right" if col in ("rows", "first row") else "left")
        for c in p.quarantine:
            q.add_row(c.column, c.rule, f"{c.rows:,}", str(c.first_row), _cell(c.example))
        console.print(q)
    if p.refusal:
        console.print(
            styled("  [red]ingest would refuse the file[/]: {}", p.refusal), soft_wrap=True
        )
