"""A delivery of several files: every file is tried, the good ones load, each is reported."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nextbest.cli import app
from nextbest.config import Config, config_from_mapping
from nextbest.errors import SourceFileError
from nextbest.ingest import ingest_source
from nextbest.store import Store

from .helpers import row, write_csv

runner = CliRunner()


def _conversions(folder: Path) -> list[Path]:
    """Three daily conversion files; the middle one is an empty file."""
    folder.mkdir(exist_ok=True)
    first = folder / "conv_20250105.csv"
    first.write_text("relation_id,conversion_date,amount\n1,2025-01-05,100\n2,2025-01-05,50\n")
    middle = folder / "conv_20250112.csv"
    middle.write_bytes(b"")
    last = folder / "conv_20250119.csv"
    last.write_text("relation_id,conversion_date,amount\n3,2025-01-19,10\n")
    return [first, middle, last]


def _config(tmp_path: Path, **sources: str) -> Config:
    return config_from_mapping(
        {
            "store": {"path": str(tmp_path / "db.duckdb")},
            "sources": {name: {"path": path} for name, path in sources.items()},
        }
    )


def test_a_bad_file_in_the_middle_does_not_stop_the_others(tmp_path: Path) -> None:
    """The first and third files load; the middle one is refused with its reason."""
    first, middle, last = _conversions(tmp_path / "exports")
    cfg = _config(tmp_path, conversions=str(tmp_path / "exports" / "conv_*.csv"))
    with Store(tmp_path / "db.duckdb") as store:
        reports = ingest_source(store, cfg, "conversions", refused="report")
        assert [(Path(r.source_file), r.status) for r in reports] == [
            (first, "loaded"),
            (middle, "refused"),
            (last, "loaded"),
        ]
        assert reports[1].reason == (
            "the file is empty (0 bytes); ask for the delivery again or remove the file"
        )
        assert reports[1].batch_id is None
        assert store.fetchall(
            "SELECT source_file, rows_loaded FROM ingest_batches ORDER BY batch_id"
        ) == [(str(first), 2), (str(last), 1)]
        assert store.fetchall("SELECT relation_id FROM conversions ORDER BY 1") == [
            (1,),
            (2,),
            (3,),
        ]


def test_by_default_the_refusal_is_raised_after_every_file_was_tried(tmp_path: Path) -> None:
    """Callers that do not ask for reports get the error, and the good files are loaded."""
    _conversions(tmp_path / "exports")
    cfg = _config(tmp_path, conversions=str(tmp_path / "exports"))
    with Store(tmp_path / "db.duckdb") as store:
        with pytest.raises(SourceFileError, match=r"conv_20250112\.csv: the file is empty"):
            ingest_source(store, cfg, "conversions")
        assert store.scalar("SELECT count(*) FROM conversions") == 3


def test_snapshot_weeks_after_a_refused_week_are_held_back(tmp_path: Path) -> None:
    """Week 1 loads; week 2 is refused (decimal commas); week 3 waits, so no hole is hidden."""
    folder = tmp_path / "snapshots"
    folder.mkdir()
    write_csv(folder / "s_20250105.csv", [row(1, day="2025-01-05"), row(2, day="2025-01-05")])
    bad = [
        row(1, day="2025-01-12", balance='"1.234,56"'),
        row(2, day="2025-01-12", balance='"7,5"'),
    ]
    write_csv(folder / "s_20250112.csv", bad)
    write_csv(folder / "s_20250119.csv", [row(1, day="2025-01-19")])
    cfg = _config(tmp_path, snapshots=str(folder))
    with Store(tmp_path / "db.duckdb") as store:
        reports = ingest_source(store, cfg, "snapshots", refused="report")
        assert [r.status for r in reports] == ["loaded", "refused", "refused"]
        assert reports[1].reason is not None
        assert reports[1].reason.startswith("refused as a whole, nothing loaded: total_balance")
        assert reports[2].reason == (
            "held back, not read: s_20250112.csv before it was refused and snapshot weeks load "
            "in order; fix that file and ingest again"
        )
        assert store.fetchall("SELECT DISTINCT snapshot_date::VARCHAR FROM snapshots") == [
            ("2025-01-05",)
        ]
        # the fixed week is delivered again: both waiting weeks load, the first is unchanged
        write_csv(folder / "s_20250112.csv", [row(1, day="2025-01-12")])
        again = ingest_source(store, cfg, "snapshots", refused="report")
        assert [r.status for r in again] == ["unchanged", "loaded", "loaded"]


class _CrashingStore(Store):
    """A store whose connection dies while the quarantine of one given file is written."""

    crash_on = ""

    def execute(self, sql: str, params: Any = None) -> None:
        if "INSERT INTO quarantine" in sql and self.crash_on in (params or []):
            raise RuntimeError("simulated crash in the middle of a delivery")
        super().execute(sql, params)


def test_a_crash_mid_delivery_keeps_earlier_files_and_rolls_back_the_current(
    tmp_path: Path,
) -> None:
    """Files before the crash stay loaded; the crashing file leaves no row and no batch."""
    first, _, last = _conversions(tmp_path / "exports")
    (tmp_path / "exports" / "conv_20250112.csv").unlink()
    cfg = _config(tmp_path, conversions=str(tmp_path / "exports"))
    with _CrashingStore(tmp_path / "db.duckdb") as store:
        store.crash_on = str(last)
        with pytest.raises(RuntimeError, match="simulated crash"):
            ingest_source(store, cfg, "conversions", refused="report")
        assert store.fetchall("SELECT source_file FROM ingest_batches") == [(str(first),)]
        assert store.fetchall("SELECT relation_id FROM conversions ORDER BY 1") == [(1,), (2,)]


def test_the_ingest_command_reports_every_file_and_exits_2(tmp_path: Path) -> None:
    """One line per file, the counts, exit 2; once fixed, the good files are unchanged."""
    _, middle, _ = _conversions(tmp_path / "exports")
    config = tmp_path / "nextbest.toml"
    config.write_text(
        '[store]\npath = "store/nextbest.duckdb"\n\n'
        '[sources.conversions]\npath = "exports/conv_*.csv"\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["-c", str(config), "ingest"])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.startswith("conversions: ")]
    assert lines == [
        "conversions: conv_20250105.csv: loaded 2 rows, 0 quarantined",
        "conversions: conv_20250112.csv: refused: the file is empty (0 bytes); ask for the "
        "delivery again or remove the file",
        "conversions: conv_20250119.csv: loaded 1 row, 0 quarantined",
    ]
    assert "2 loaded, 0 unchanged, 1 refused" in result.output
    middle.write_text("relation_id,conversion_date,amount\n4,2025-01-12,5\n")
    again = runner.invoke(app, ["-c", str(config), "ingest"])
    assert again.exit_code == 0, again.output
    assert "conversions: conv_20250105.csv: unchanged, skipped" in again.output
    assert "1 loaded, 2 unchanged, 0 refused" in again.output


def test_a_workbook_in_the_delivery_folder_is_refused_not_skipped(tmp_path: Path) -> None:
    """A week delivered as .xlsx in the source folder is listed and refused by name."""
    folder = tmp_path / "exports"
    _conversions(folder)[1].unlink()
    workbook = folder / "conv_20250112.xlsx"
    with zipfile.ZipFile(workbook, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
    (folder / "notes.md").write_text("not a delivery")
    cfg = _config(tmp_path, conversions=str(folder))
    with Store(tmp_path / "db.duckdb") as store:
        reports = ingest_source(store, cfg, "conversions", refused="report")
    assert [(Path(r.source_file).name, r.status) for r in reports] == [
        ("conv_20250105.csv", "loaded"),
        ("conv_20250112.xlsx", "refused"),
        ("conv_20250119.csv", "loaded"),
    ]
    assert reports[1].reason is not None
    assert reports[1].reason.startswith("it is an Excel workbook (XLSX), not a CSV; save it as")


def test_a_refused_correction_names_the_file_whose_rows_its_week_keeps(tmp_path: Path) -> None:
    """A refused file read far enough to know its week says which loaded file that week holds."""
    folder = tmp_path / "snapshots"
    folder.mkdir()
    write_csv(folder / "s_20250112.csv", [row(1, day="2025-01-12"), row(2, day="2025-01-12")])
    bad = [
        row(1, day="2025-01-12", balance='"1.234,56"'),
        row(2, day="2025-01-12", balance='"7,5"'),
    ]
    write_csv(folder / "s_20250112_v2.csv", bad)
    cfg = _config(tmp_path, snapshots=str(folder))
    with Store(tmp_path / "db.duckdb") as store:
        loaded, refused = ingest_source(store, cfg, "snapshots", refused="report")
        assert (loaded.status, refused.status) == ("loaded", "refused")
        assert refused.partitions == ("2025-01-12",)
        assert refused.reason is not None
        assert refused.reason.endswith(
            "(its partitions: 2025-01-12 holds the rows of s_20250112.csv, loaded before it)"
        )
        assert store.scalar("SELECT count(*) FROM snapshots") == 2


def test_the_command_reports_the_loaded_files_when_a_later_source_fails(tmp_path: Path) -> None:
    """A source without a section stops the command, after the files already loaded are named."""
    _conversions(tmp_path / "exports")[1].unlink()
    config = tmp_path / "nextbest.toml"
    config.write_text(
        '[store]\npath = "store/nextbest.duckdb"\n\n'
        '[sources.conversions]\npath = "exports/conv_*.csv"\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["-c", str(config), "ingest", "conversions", "market"])
    assert result.exit_code == 2
    assert "conversions: conv_20250105.csv: loaded 2 rows, 0 quarantined" in result.output
    assert "2 loaded, 0 unchanged, 0 refused" in result.output
    assert "no [sources.market] section in the config" in result.output


def test_a_readme_in_a_source_folder_is_left_alone(tmp_path: Path) -> None:
    """A folder's data files are its .csv and .parquet files; a README.txt is not a week."""
    from nextbest.ingest._files import resolve_files

    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "README.txt").write_text("hi\n")
    (folder / "a_20240107.csv").write_text("x\n")
    (folder / "notes.txt").write_text("a,b\n1,2\n")
    assert [p.name for p in resolve_files(folder, setting="[sources.snapshots]")] == [
        "a_20240107.csv"
    ]
    # named on purpose, a .txt file is read as CSV
    assert [p.name for p in resolve_files(folder / "*.txt", setting="x")] == [
        "README.txt", "notes.txt",
    ]  # fmt: skip
