"""``nextbest inspect FILE``: the dialect, mapping, lines to paste and preview on the terminal,
and a one-line error for a file it cannot read."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from nextbest.cli import app
from nextbest.config import load_config

runner = CliRunner()

HEADER = "REL_NR;PEILDATUM;LEEFTIJD;SALDO_TOTAAL;BELEGGER"
ROWS = ["101;05-01-2025;30;1.234,56;J", "102;05-01-2025;150;12,5;N", "103;12-01-2025;NULL;-1;N"]


def _export(tmp_path: Path) -> Path:
    path = tmp_path / "exports" / "klant_snapshot.csv"
    path.parent.mkdir()
    path.write_bytes(("\n".join([HEADER, *ROWS]) + "\n").encode("latin-1"))
    return path


def test_inspect_prints_the_dialect_the_lines_and_the_preview(tmp_path: Path) -> None:
    """Each part is printed; the block's path is relative to the config's folder, and the
    bad age is counted under its rule with its row and value."""
    path = _export(tmp_path)
    config = tmp_path / "nextbest.toml"
    result = runner.invoke(app, ["-c", str(config), "inspect", str(path), "--source", "snapshots"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "  delimiter  ';'\n" in out
    assert "  encoding   utf-8\n" in out  # only ASCII here
    assert "  decimal    ','\n" in out
    assert "  thousands  '.'\n" in out
    assert "  dates      %d-%m-%Y\n" in out
    assert "  yes / no   J / N\n" in out
    assert "  nulls      'NULL', empty\n" in out
    lines = out.index("Lines to paste into nextbest.toml\n") + len(
        "Lines to paste into nextbest.toml\n"
    )
    block = out[lines : out.index("\n\n", out.index("[sources.snapshots.columns]\n", lines))]
    assert block.startswith("[sources.snapshots]\n")
    assert 'path = "exports/klant_snapshot.csv"' in block
    assert '# TODO segment = "<column in your file>"  (not found in the file)' in block
    assert "Would be quarantined: 1 of 3 rows" in out
    assert "│ age    │ range: outside 0..120 │    1 │         2 │ 150    │" in out
    assert (
        "ingest will refuse this file until these required columns are mapped in "
        "[sources.snapshots.columns]: segment, has_savings"
    ) in out
    # the block, with the TODO lines as they are, is a valid config
    config.write_text(block + "\n", encoding="utf-8")
    cfg = load_config(config)
    assert cfg.sources.snapshots is not None
    assert cfg.sources.snapshots.columns["total_balance"] == "SALDO_TOTAAL"


def test_inspect_a_file_it_cannot_read_is_one_line(tmp_path: Path) -> None:
    """An empty file: one line naming it, exit 2, no traceback."""
    empty = tmp_path / "leeg.csv"
    empty.write_bytes(b"")
    result = runner.invoke(app, ["inspect", str(empty)])
    assert result.exit_code == 2
    assert "leeg.csv: the file is empty" in result.output
    assert "Traceback" not in result.output


def test_inspect_in_a_project_says_what_to_change_in_its_source(tmp_path: Path) -> None:
    """With a nextbest.toml whose [sources.snapshots] reads '.' decimals, inspect names the
    settings to change, each with its current value."""
    path = _export(tmp_path)
    config = tmp_path / "nextbest.toml"
    config.write_text(
        '[sources.snapshots]\npath = "exports/*.csv"\ndelimiter = ";"\n'
        'date_format = "%d-%m-%Y"\nnull_values = ["NULL"]\n'
        '[sources.snapshots.columns]\nrelation_id = "REL_NR"\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["-c", str(config), "inspect", str(path), "--source", "snapshots"])
    assert result.exit_code == 0, result.output
    assert f"Your [sources.snapshots] in {config} reads it otherwise; change:\n" in result.output
    assert '  decimal = ","   (now ".")\n' in result.output
    assert '  columns.age = "LEEFTIJD"   (now not set)\n' in result.output
    assert "columns.relation_id" not in result.output
