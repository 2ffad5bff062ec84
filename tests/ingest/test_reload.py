"""Reloads: a file is unchanged only when its content and the settings that read it are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nextbest.cli import app
from nextbest.config import SourceConfig, load_config
from nextbest.errors import ConfigError, SourceFileError
from nextbest.ingest import (
    SNAPSHOTS,
    ingest_source,
    load_file,
    quarantine_summary,
    reload_files,
)
from nextbest.ingest._reading import READER_FIELDS, changed_settings, reader_json
from nextbest.store import Store
from tests.ingest.helpers import row, write_csv

SETTING = "[sources.snapshots]"
ENGLISH = SourceConfig(path="unused", delimiter=";")
DUTCH = SourceConfig(path="unused", delimiter=";", decimal=",", thousands=".")


@pytest.fixture
def store() -> Any:
    with Store(":memory:") as s:
        yield s


def _export(tmp_path: Path) -> Path:
    """Three rows, one with a Dutch decimal comma: read as English it is quarantined."""
    rows = [row(101, balance="1500"), row(102, balance="1.234#56"), row(103, balance="7")]
    path = write_csv(tmp_path / "snap.csv", rows, delimiter=";")
    path.write_text(path.read_text().replace("#", ","), encoding="utf-8")
    return path


def test_reader_fields_are_every_setting_that_changes_the_rows() -> None:
    """The reading settings are the source's fields except where the files are and when one is
    refused; a new dialect field joins by itself (and this list must then be updated)."""
    assert READER_FIELDS == (
        "format",
        "delimiter",
        "date_format",
        "decimal",
        "thousands",
        "encoding",
        "true_values",
        "false_values",
        "null_values",
        "columns",
        "recode",
    )
    assert reader_json(ENGLISH) == reader_json(ENGLISH.model_copy(update={"path": "other/*.csv"}))
    assert reader_json(ENGLISH) == reader_json(ENGLISH.model_copy(update={"refuse_share": 1.0}))
    assert changed_settings(reader_json(ENGLISH), DUTCH) == ("decimal", "thousands")


def test_a_settings_fix_reloads_the_quarantined_rows(store: Store, tmp_path: Path) -> None:
    """After decimal = ',' is set, the same file is read again and replaces its earlier batch:
    the row quarantined for its decimal comma is loaded, and the report names the settings."""
    path = _export(tmp_path)
    first = load_file(store, SNAPSHOTS, path, ENGLISH, setting=SETTING)
    assert (first.rows_loaded, first.rows_quarantined) == (2, 1)
    again = load_file(store, SNAPSHOTS, path, ENGLISH, setting=SETTING)
    assert (again.status, again.batch_id) == ("unchanged", first.batch_id)

    fixed = load_file(store, SNAPSHOTS, path, DUTCH, setting=SETTING)
    assert fixed.status == "loaded"
    assert (fixed.rows_loaded, fixed.rows_quarantined, fixed.partitions_replaced) == (3, 0, 1)
    assert [i.message for i in fixed.issues] == [
        "reloaded: the reading settings changed (decimal, thousands)"
    ]
    assert store.fetchall("SELECT relation_id, total_balance FROM snapshots ORDER BY 1") == [
        (101, 1500.0),
        (102, 1234.56),
        (103, 7.0),
    ]
    assert store.fetchall(
        "SELECT batch_id, status, reason FROM ingest_batches ORDER BY batch_id"
    ) == [(first.batch_id, "superseded", "new"), (fixed.batch_id, "loaded", "settings")]
    # the reload note is not a contract issue: nothing is stored for a run's contract check
    assert store.scalar("SELECT count(*) FROM contract_issues") == 1  # the first file's
    assert quarantine_summary(store) == []  # the earlier batch's quarantine is history
    after = load_file(store, SNAPSHOTS, path, DUTCH, setting=SETTING)
    assert (after.status, after.batch_id) == ("unchanged", fixed.batch_id)


def test_a_batch_loaded_before_settings_were_kept_is_unchanged(
    store: Store, tmp_path: Path
) -> None:
    """A store made by an earlier version has no reading settings on its batches: its files
    count as read with today's settings, so an upgrade does not reload every file."""
    path = _export(tmp_path)
    first = load_file(store, SNAPSHOTS, path, ENGLISH, setting=SETTING)
    store.execute("UPDATE ingest_batches SET reader_sha256 = NULL, reader_json = NULL")
    assert load_file(store, SNAPSHOTS, path, DUTCH, setting=SETTING).status == "unchanged"
    forced = load_file(store, SNAPSHOTS, path, DUTCH, setting=SETTING, reload=True)
    assert forced.batch_id != first.batch_id
    assert forced.rows_quarantined == 0


def test_reload_reads_an_unchanged_file_again(store: Store, tmp_path: Path) -> None:
    """``reload`` reads a file again although nothing changed: a new batch, reason 'reload',
    that supersedes the earlier one."""
    path = _export(tmp_path)
    first = load_file(store, SNAPSHOTS, path, DUTCH, setting=SETTING)
    forced = load_file(store, SNAPSHOTS, path, DUTCH, setting=SETTING, reload=True)
    assert (forced.status, forced.rows_loaded, forced.partitions_replaced) == ("loaded", 3, 1)
    assert [i.message for i in forced.issues] == ["reloaded: asked for with --reload"]
    assert store.fetchall(
        "SELECT batch_id, status, reason FROM ingest_batches ORDER BY batch_id"
    ) == [(first.batch_id, "superseded", "new"), (forced.batch_id, "loaded", "reload")]
    assert store.scalar("SELECT count(*) FROM snapshots") == 3


def _project(tmp_path: Path) -> tuple[Path, Path]:
    """A project whose snapshots source is the folder ``snap``, with two weekly files."""
    folder = tmp_path / "snap"
    folder.mkdir()
    write_csv(folder / "a.csv", [row(101, day="2025-01-05")])
    write_csv(folder / "b.csv", [row(101, day="2025-01-12"), row(102, day="2025-01-12")])
    config = tmp_path / "nextbest.toml"
    config.write_text(
        '[store]\npath = "store.duckdb"\n\n[sources.snapshots]\npath = "snap"\n', encoding="utf-8"
    )
    return config, folder


def test_reload_files_reads_the_named_files_of_a_source(store: Store, tmp_path: Path) -> None:
    """Named files (a path, or a glob relative to the config) are read again as new batches
    with reason 'reload', a file named twice once; a file no source reads is refused naming
    the sources, loading nothing, and a missing one is named."""
    config_path, folder = _project(tmp_path)
    cfg = load_config(config_path)
    assert [r.status for r in ingest_source(store, cfg, "snapshots")] == ["loaded", "loaded"]
    (again,) = reload_files(store, cfg, [str(folder / "b.csv")])
    assert (again.status, again.rows_loaded, again.partitions) == ("loaded", 2, ("2025-01-12",))
    both = reload_files(store, cfg, ["snap/*.csv", str(folder / "a.csv")])
    assert [Path(r.source_file).name for r in both] == ["a.csv", "b.csv"]
    assert store.fetchall(
        "SELECT reason, count(*) FROM ingest_batches GROUP BY ALL ORDER BY 1"
    ) == [("new", 2), ("reload", 3)]
    stray = write_csv(tmp_path / "stray.csv", [row(103)])
    with pytest.raises(
        ConfigError,
        match=r"stray\.csv: not a file of any configured source; --reload reads files of "
        r"snapshots \(snap\)",
    ):
        reload_files(store, cfg, [str(folder / "a.csv"), str(stray)])
    with pytest.raises(SourceFileError, match=r"c\.csv: no such file"):
        reload_files(store, cfg, [str(folder / "c.csv")])
    assert store.scalar("SELECT count(*) FROM ingest_batches") == 5


def test_ingest_reload_on_the_command_line(tmp_path: Path) -> None:
    """``nextbest ingest --reload FILE`` reads an unchanged file again and says so; after a
    reading setting changes, plain ``ingest`` reads every file of the source again."""
    config_path, _ = _project(tmp_path)
    runner = CliRunner()
    first = runner.invoke(app, ["-c", str(config_path), "ingest"])
    assert first.exit_code == 0, first.output
    assert "2 loaded, 0 unchanged, 0 refused" in first.output
    again = runner.invoke(app, ["-c", str(config_path), "ingest", "--reload", "snap/a.csv"])
    assert again.exit_code == 0, again.output
    assert "reloaded: asked for with --reload" in again.output
    assert "1 loaded, 0 unchanged, 0 refused" in again.output
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(text + 'null_values = ["-"]\n', encoding="utf-8")
    fixed = runner.invoke(app, ["-c", str(config_path), "ingest"])
    assert fixed.exit_code == 0, fixed.output
    assert fixed.output.count("reloaded: the reading settings changed (null_values)") == 2
    assert "2 loaded, 0 unchanged, 0 refused" in fixed.output
    empty = runner.invoke(app, ["-c", str(config_path), "ingest", "--reload"])
    assert empty.exit_code == 2
    assert "--reload needs the files to read again" in empty.output


def test_a_store_made_before_reader_settings_opens_with_them(tmp_path: Path) -> None:
    """A store whose batches table has no reading-settings columns, and no re-delivery table,
    gets both when it is opened; its old batches have none recorded."""
    path = tmp_path / "old.duckdb"
    with Store(path) as old:
        old.execute(
            "INSERT INTO ingest_batches (batch_id, table_name, source_file, file_sha256, "
            "file_bytes, rows_read, rows_loaded, rows_quarantined, partitions, "
            "partitions_replaced, status, loaded_at) VALUES (1, 'snapshots', 'a.csv', "
            "'ab', 1, 1, 1, 0, ['2025-01-05'], 0, 'loaded', now()::TIMESTAMP)"
        )
        for col in ("reader_sha256", "reader_json", "reason"):
            old.execute(f"ALTER TABLE ingest_batches DROP COLUMN {col}")
        old.execute("DROP TABLE input_redeliveries")
    with Store(path) as store:
        assert store.fetchall(
            "SELECT batch_id, reader_sha256, reader_json, reason FROM ingest_batches"
        ) == [(1, None, None, None)]
        assert store.scalar("SELECT count(*) FROM input_redeliveries") == 0
