"""``nextbest inspect FILE``: the dialect, the mapping and the lines to paste for a new export."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from nextbest.cli._context import STATE, handled
from nextbest.cli._render import console, styled
from nextbest.config import SourceConfig, load_config
from nextbest.errors import NextbestError
from nextbest.ingest import SOURCE_NAMES, Inspection, inspect_file


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
    """Sniff an export and print the config section that reads it (dialect and column
    mapping), with a preview of the first rows as read and what would be quarantined.
    Nothing is written."""
    config_file = _config_file()
    configured, unread = _configured_sources(config_file)
    base = config_file.parent if config_file else Path()
    result = inspect_file(
        file, source=source, path_text=_path_for_config(file, base), configured=configured
    )
    print_inspection(result, config_file)
    if unread:
        console.print(styled("  [yellow]note[/] your config was not compared: {}", unread))


def _config_file() -> Path | None:
    """The config file the project's commands would read, if there is one."""
    if STATE.config_path:
        return STATE.config_path
    if os.environ.get("NEXTBEST_CONFIG"):
        return Path(os.environ["NEXTBEST_CONFIG"])
    return Path("nextbest.toml") if Path("nextbest.toml").exists() else None


def _configured_sources(
    config_file: Path | None,
) -> tuple[dict[str, SourceConfig | None], str | None]:
    """The project's sources by name, and why they could not be read (None: they could)."""
    if config_file is None or not config_file.exists():
        return {}, None
    try:
        cfg = load_config(config_file)
    except NextbestError as exc:
        return {}, str(exc)
    return {name: getattr(cfg.sources, name) for name in SOURCE_NAMES}, None


def _path_for_config(file: Path, base: Path) -> str:
    """The file's path as the config should hold it: relative to the config's folder when the
    file is inside it, else absolute."""
    target, folder = file.resolve(), base.resolve()
    if target.is_relative_to(folder):
        return Path(os.path.relpath(target, folder)).as_posix()
    return str(target)


def print_inspection(result: Inspection, config_file: Path | None = None) -> None:
    """The inspection in four parts: dialect, columns, lines to paste, preview."""
    _print_dialect(result)
    _print_columns(result)
    console.print(styled("\n[bold]Lines to paste into nextbest.toml[/]"))
    console.print(result.toml, soft_wrap=True, highlight=False)
    _print_changes(result, config_file)
    _print_preview(result)


def _print_changes(result: Inspection, config_file: Path | None) -> None:
    if result.changes is None:
        return
    where = f"[sources.{result.mapping.source}] in {config_file}"
    if not result.changes:
        console.print(f"Your {where} already reads the file this way.\n", highlight=False)
        return
    console.print(styled("[bold]Your {} reads it otherwise[/]; change:", where))
    for c in result.changes:
        now = "not set" if c.current is None else _toml(c.current)
        console.print(f"  {c.setting} = {_toml(c.proposed)}   (now {now})", highlight=False)
    console.print()


def _toml(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


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
            ("quote", "none found" if d.quote == "(empty)" else repr(d.quote)),
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
                "in {}: {}",
                f"[sources.{m.source}.columns]",
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
    if p.redacted:
        console.print("The rows are not shown: audit-only values stay in the audit database.")
    elif p.columns:
        console.print(styled("[bold]The first {} row(s) as they would be read[/]", len(p.rows)))
        table = Table()
        table.add_column("column")
        for r in p.rows:
            table.add_column(f"row {r[0]}")
        for i, col in enumerate(p.columns, start=1):
            table.add_row(col, *(_cell(r[i]) for r in p.rows))
        console.print(table)
    if not p.quarantine and result.missing:
        console.print(
            styled(
                "No row would be quarantined, [red]but ingest refuses the file[/] until {} "
                "{} mapped (see above).",
                ", ".join(result.missing),
                "is" if len(result.missing) == 1 else "are",
            )
        )
    elif not p.quarantine:
        console.print(f"Nothing would be quarantined: all {p.rows_read:,} rows read.")
    else:
        console.print(
            styled(
                "[bold]Would be quarantined: {:,} of {:,} rows[/]", p.rows_quarantined, p.rows_read
            )
        )
        q = Table()
        for col in ("column", "rule", "rows", "first row", "values"):
            q.add_column(col, justify="right" if col in ("rows", "first row") else "left")
        for c in p.quarantine:
            shown = ", ".join(f"{v} ×{n:,}" for v, n in c.common) or _cell(c.example)
            q.add_row(c.column, c.rule, f"{c.rows:,}", str(c.first_row), shown)
        console.print(q)
    if p.refusal:
        console.print(
            styled("  [red]ingest would refuse the file[/]: {}", p.refusal), soft_wrap=True
        )
