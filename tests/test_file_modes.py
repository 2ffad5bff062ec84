"""Everything nextbest writes is readable by its owner only (0600 files, 0700 folders)."""

from __future__ import annotations

import datetime as dt
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nextbest.cli import main
from nextbest.config import load_config
from nextbest.models import register_model
from nextbest.store import Store, open_store, private_files
from tests.pipeline.conftest import CUSTOMERS, hand_model

D = dt.date(2025, 3, 2)

TOML = """
[store]
path = "data/bank.duckdb"

[sources.snapshots]
path = "in/snapshots.csv"

[sources.audit]
path = "in/audit.csv"

[features]
enabled = ["engagement"]

[[actions]]
name = "invest-onboarding"
threshold = 0.2
min_weekly = 1
max_weekly = 3
holdout_fraction = 0.0
exploration_size = 0
model = { kind = "logistic" }

[[actions.rules]]
name = "has_some_balance"
sql = "total_balance >= 100"

[run]
seed = 7
"""


@pytest.fixture
def restore_umask() -> Iterator[None]:
    """main() sets the process umask; give the test session its own back afterwards."""
    previous = os.umask(0o022)
    os.umask(previous)
    try:
        yield
    finally:
        os.umask(previous)


def _inputs(root: Path) -> Path:
    (root / "in").mkdir()
    header = (
        "relation_id,snapshot_date,age,segment,has_savings,has_payment,n_accounts,"
        "total_balance,app_installed,ib_logins_4w,optin_general,optin_investing,"
        "customer_since,is_investor"
    )
    lines = [header]
    for rid, (age, optin, investor, app, accounts, logins, balance) in CUSTOMERS.items():
        opt = str(bool(optin)).lower()
        lines.append(
            f"{rid},{D},{age},mass,true,true,{accounts},{balance},{str(app).lower()},{logins},"
            f"true,{opt},2015-01-01,{str(investor).lower()}"
        )
    (root / "in" / "snapshots.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    audit = ["relation_id,gender,postcode_area"]
    audit += [f"{rid},{'F' if rid % 2 else 'M'},1{rid % 9}" for rid in CUSTOMERS]
    (root / "in" / "audit.csv").write_text("\n".join(audit) + "\n", encoding="utf-8")
    toml = root / "nextbest.toml"
    toml.write_text(TOML, encoding="utf-8")
    return toml


def _nextbest(monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    monkeypatch.setattr(sys, "argv", ["nextbest", *args])
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code in (0, None), args


def test_store_exports_and_decision_files_are_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_umask: None
) -> None:
    """After ingest, a weekly run, approval and export through the command's entry point,
    no file or folder it wrote grants anything to group or others."""
    toml = _inputs(tmp_path)
    given = set(tmp_path.rglob("*"))
    _nextbest(monkeypatch, "-c", str(toml), "ingest")
    with open_store(load_config(toml)) as store:
        register_model(store, hand_model())
    _nextbest(monkeypatch, "-c", str(toml), "run", "--date", D.isoformat(), "--by", "ana")
    with open_store(load_config(toml)) as store:
        run_id = str(store.scalar("SELECT run_id FROM runs"))
    _nextbest(monkeypatch, "-c", str(toml), "approve", run_id, "--by", "bob")
    _nextbest(monkeypatch, "-c", str(toml), "export", run_id, "--by", "bob")
    written = sorted(set(tmp_path.rglob("*")) - given)
    names = {p.name for p in written}
    assert {"bank.duckdb", "bank.audit.duckdb"} <= names
    assert any(p.suffix == ".csv" for p in written)  # the hand-off file
    assert len(written) > 4
    loose = [
        f"{p.relative_to(tmp_path)} {stat.filemode(p.stat().st_mode)}"
        for p in written
        if stat.S_IMODE(p.stat().st_mode) & 0o077
    ]
    assert loose == []


def test_write_ahead_log_is_private(tmp_path: Path, restore_umask: None) -> None:
    """Under the entry point's umask, the store's write-ahead log is private too."""
    private_files()
    with Store(tmp_path / "bank.duckdb") as store:
        store.execute("INSERT INTO market_prices VALUES ('balanced', DATE '2025-01-03', 1, 1)")
        wal = tmp_path / "bank.duckdb.wal"
        assert wal.exists()
        assert stat.S_IMODE(wal.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "bank.duckdb").stat().st_mode) == 0o600


def test_store_files_are_private_without_the_entry_point(tmp_path: Path) -> None:
    """Even under a permissive umask, the store and audit files are created 0600 and the
    store's folder 0700."""
    previous = os.umask(0o022)
    try:
        with Store(tmp_path / "new" / "bank.duckdb") as store, store.audit():
            pass
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    for name in ("bank.duckdb", "bank.audit.duckdb"):
        assert stat.S_IMODE((tmp_path / "new" / name).stat().st_mode) == 0o600
