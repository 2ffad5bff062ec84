"""Every fault the synthetic bank injects is caught by the contracts, with a precise message."""

from __future__ import annotations

from pathlib import Path

import pytest

from nextbest.ingest import configured_sources, contract_issues, ingest_source, quarantine_summary
from nextbest.simulate import BankManifest, simulate_bank
from nextbest.store import Store, open_store
from tests.conftest import N_CUSTOMERS, bank_config


def test_malformed_batch_is_quarantined_exactly(
    loaded_db: Path, bank_manifest: BankManifest
) -> None:
    """The malformed week loses exactly the corrupted rows, each with its own rule."""
    fault = bank_manifest.faults["malformed"]
    assert isinstance(fault, dict)
    week = bank_manifest.faults["malformed_week"]
    with Store(loaded_db, read_only=True) as store:
        rows = store.fetchall(
            "SELECT rule, count(DISTINCT source_row) FROM quarantine "
            "WHERE source_file LIKE ? GROUP BY rule",
            [f"%snapshot_{week}.parquet"],
        )
        by_rule = dict(rows)
        assert by_rule == {
            "range: outside 0..120": fault["bad_age"],
            "allowed: not one of mass/affluent/private": fault["bad_segment"],
            "range: outside 0..100": fault["bad_accounts"],
            "not null": fault["null_relation_id"],
            "unique: conflicting rows share this key": 2 * fault["conflicting_duplicate_keys"],
            "unique: exact copy of an earlier row": fault["exact_duplicate_copies"],
        }
        n_rows = store.scalar(
            "SELECT rows_quarantined FROM ingest_batches WHERE source_file LIKE ?",
            [f"%snapshot_{week}.parquet"],
        )
        assert n_rows == fault["expected_quarantined_rows"]
        loaded = store.scalar("SELECT count(*) FROM snapshots WHERE snapshot_date = ?", [week])
        assert loaded == fault["rows_in_file"] - fault["expected_quarantined_rows"]
        # no other week lost a row
        assert store.scalar("SELECT count(DISTINCT source_file) FROM quarantine") == 1


def test_null_burst_is_an_error_issue(loaded_db: Path, bank_manifest: BankManifest) -> None:
    """The null-burst week raises a null-limit error for exactly the blanked columns."""
    week = bank_manifest.faults["null_burst_week"]
    with Store(loaded_db, read_only=True) as store:
        issues = [i for i in contract_issues(store) if i["rule"] == "null_limit"]
    assert {(i["partition"], i["column"]) for i in issues} == {
        (week, "app_installed"),
        (week, "ib_logins_4w"),
    }
    for issue in issues:
        assert issue["severity"] == "error"
        assert 0.25 < issue["figure"] < 0.45
        setting = f"[contracts.max_null_share_by_column] {issue['column']}"
        assert f"of week {week} (limit 5%, `{setting}`)" in issue["message"]


def test_late_week_is_missing(loaded_db: Path, bank_manifest: BankManifest) -> None:
    """The week the warehouse delivers late is absent; every other week is there in full."""
    late = bank_manifest.faults["late_week"]
    with Store(loaded_db, read_only=True) as store:
        weeks = dict(
            store.fetchall(
                "SELECT CAST(snapshot_date AS VARCHAR), count(*) FROM snapshots GROUP BY 1"
            )
        )
    assert late not in weeks
    assert sorted(weeks) == bank_manifest.delivered_dates
    malformed = bank_manifest.faults["malformed_week"]
    assert all(n == N_CUSTOMERS for w, n in weeks.items() if w != malformed)


def test_late_week_delivered_later_fills_the_gap(
    loaded_store: Store, bank_dir: Path, bank_manifest: BankManifest
) -> None:
    """Ingesting the late file afterwards adds that week and nothing else."""
    cfg = bank_config(bank_dir, ":memory:")
    late_cfg = cfg.model_copy(
        update={
            "sources": cfg.sources.model_copy(
                update={
                    "snapshots": cfg.sources.snapshots.model_copy(  # type: ignore[union-attr]
                        update={"path": str(bank_dir / "late")}
                    )
                }
            )
        }
    )
    before = loaded_store.scalar("SELECT count(*) FROM snapshots")
    (report,) = ingest_source(loaded_store, late_cfg, "snapshots")
    assert report.partitions == (bank_manifest.faults["late_week"],)
    assert report.partitions_replaced == 0
    assert loaded_store.scalar("SELECT count(*) FROM snapshots") == before + N_CUSTOMERS


def test_reingest_everything_is_idempotent(loaded_store: Store, bank_dir: Path) -> None:
    """Running the whole ingest again changes no table."""
    tables = (
        "snapshots",
        "market_prices",
        "conversions",
        "audit.sensitive_attributes",
        "quarantine",
        "contract_issues",
        "ingest_batches",
    )
    with loaded_store.audit():
        before = {t: loaded_store.scalar(f"SELECT count(*) FROM {t}") for t in tables}
    cfg = bank_config(bank_dir, ":memory:")
    reports = [r for n in configured_sources(cfg) for r in ingest_source(loaded_store, cfg, n)]
    assert {r.status for r in reports} == {"unchanged"}
    with loaded_store.audit():
        after = {t: loaded_store.scalar(f"SELECT count(*) FROM {t}") for t in tables}
    assert after == before


@pytest.mark.parametrize("fmt", ["csv"])
def test_csv_bank_also_catches_unparseable_numbers(tmp_path: Path, fmt: str) -> None:
    """In CSV, the malformed batch also has European-formatted balances: type violations."""
    bank = tmp_path / "bank"
    manifest = simulate_bank(
        bank, n_customers=300, n_weeks=30, seed=3, file_format="csv", truth=False
    )
    cfg = bank_config(bank, tmp_path / "db.duckdb")
    with open_store(cfg) as store:
        ingest_source(store, cfg, "snapshots")
        summary = quarantine_summary(store)
    fault = manifest.faults["malformed"]
    assert isinstance(fault, dict)
    type_rows = [s for s in summary if s["rule"] == "type: not a valid DOUBLE"]
    assert len(type_rows) == 1
    assert type_rows[0]["rows"] == fault["unparseable_balance"] > 0
    assert type_rows[0]["example"] == "1.234,56"
    total = sum(s["rows"] for s in summary if not s["rule"].startswith("unique"))
    total += sum(s["rows"] for s in summary if s["rule"].startswith("unique"))
    assert total == fault["expected_quarantined_rows"]
