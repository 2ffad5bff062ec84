"""Quarantined rows of the audit source keep where and why, never the sensitive values."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from nextbest.cli import app
from nextbest.config import config_from_mapping
from nextbest.ingest import ingest_source, quarantine_rows, quarantine_summary
from nextbest.store import REDACTED, open_store

AUDIT_CSV = """relation_id,gender,postcode_area
101,F,PC-1001
102,FEMALE-X,PC-1002
abc,M,PC-1003
104,F,PC-1004
104,M,PC-2004
,X,PC-1006
"""


def test_malformed_audit_file_is_quarantined_without_its_values(tmp_path: Path) -> None:
    """Bad gender, bad and missing relation numbers and a conflicting key are quarantined with
    file, row, column and rule; value and record hold the redaction marker, and
    'nextbest quarantine --rows' prints no gender or postcode."""
    (tmp_path / "audit.csv").write_text(AUDIT_CSV, encoding="utf-8")
    toml = tmp_path / "nextbest.toml"
    toml.write_text(
        '[store]\npath = "data/bank.duckdb"\n[sources.audit]\npath = "audit.csv"\n',
        encoding="utf-8",
    )
    cfg = config_from_mapping(
        {
            "store": {"path": str(tmp_path / "data" / "bank.duckdb")},
            "sources": {"audit": {"path": str(tmp_path / "audit.csv")}},
        }
    )
    with open_store(cfg) as store:
        (report,) = ingest_source(store, cfg, "audit")
        assert (report.rows_read, report.rows_loaded) == (6, 1)
        rows = quarantine_rows(store)
        assert [(r["row"], r["column"], r["rule"]) for r in rows] == [
            (2, "gender", "allowed: not one of F/M/X"),
            (3, "relation_id", "type: not a valid BIGINT"),
            (4, "relation_id", "unique: conflicting rows share this key"),
            (5, "relation_id", "unique: conflicting rows share this key"),
            (6, "relation_id", "not null"),
        ]
        assert {r["value"] for r in rows} == {REDACTED}
        assert {r["record"] for r in rows} == {REDACTED}
        assert {r["example"] for r in quarantine_summary(store)} == {REDACTED}
        with store.audit():
            assert store.fetchall("SELECT * FROM audit.sensitive_attributes") == [
                (101, "F", "PC-1001", report.batch_id)
            ]
    runner = CliRunner()
    for args in (["quarantine", "--rows"], ["quarantine"]):
        result = runner.invoke(app, ["-c", str(toml), *args])
        assert result.exit_code == 0, result.output
        assert "audit.csv row 2" in result.output or "sensitive_attributes" in result.output
        for value in ("FEMALE-X", "PC-", "'F'", "'M'", "'X'"):
            assert value not in result.output
    db = (tmp_path / "data" / "bank.duckdb").read_bytes()
    assert b"PC-1" not in db and b"FEMALE-X" not in db
