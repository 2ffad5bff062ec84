"""End to end on a Dutch warehouse export: from ``nextbest init`` to a decided week.

The synthetic bank is written twice with the same seed: as plain CSV, and the way a Dutch
warehouse exports it (``;``, ``1.234,56``, ``dd-mm-yyyy``, ``J``/``N``, ``NULL``, latin-1 with
``Privé Bankieren`` as a segment name, its own column names). Read with the config lines the
simulator writes, the Dutch export must load the very same rows and quarantine the very same
ones as the plain export, and then train and run a week like any project.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from typer.testing import CliRunner

from nextbest.cli import app
from nextbest.config import load_config
from nextbest.ingest import configured_sources, ingest_source, quarantine_summary
from nextbest.simulate import SOURCES_FILE, simulate_bank
from nextbest.store import Store, open_store
from tests.conftest import bank_config

runner = CliRunner()
CUSTOMERS, WEEKS, SEED = 1_000, 52, 11

TABLES = {
    "snapshots": "relation_id, snapshot_date",
    "market_prices": "fund, price_date",
    "conversions": "relation_id, conversion_date",
}


def _cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _project_for_dutch_bank(tmp_path: Path) -> Path:
    """What a new user does: simulate the Dutch bank, init a project, paste the lines."""
    bank = tmp_path / "bank-nl"
    out = _cli(
        "simulate", "--out", str(bank), "--dialect", "nl",
        "--customers", str(CUSTOMERS), "--weeks", str(WEEKS), "--seed", str(SEED),
    )  # fmt: skip
    assert f"the [sources] lines that read it are in {bank / SOURCES_FILE}" in " ".join(out.split())
    _cli("init", str(tmp_path / "proj"), "--data", str(bank))
    config = tmp_path / "proj" / "nextbest.toml"
    text = config.read_text(encoding="utf-8")
    start, end = text.index("[sources.snapshots]"), text.index("[features]")
    pasted = (bank / SOURCES_FILE).read_text(encoding="utf-8")
    # a small model keeps the test quick; everything else is the starter config
    rest = text[end:].replace("n_estimators = 200", "n_estimators = 40")
    config.write_text(text[:start] + pasted + "\n" + rest, encoding="utf-8")
    return config


def _plain_store(tmp_path: Path) -> Path:
    bank = tmp_path / "bank-plain"
    simulate_bank(bank, n_customers=CUSTOMERS, n_weeks=WEEKS, seed=SEED, file_format="csv")
    cfg = bank_config(bank, tmp_path / "plain.duckdb")
    with open_store(cfg) as store:
        for name in configured_sources(cfg):
            ingest_source(store, cfg, name)
    return tmp_path / "plain.duckdb"


def _table(store: Store, table: str) -> pa.Table:
    return store.arrow(f"SELECT * EXCLUDE (batch_id) FROM {table} ORDER BY {TABLES[table]}")


def _quarantined(store: Store) -> list[tuple[str, str, str, str, int]]:
    return sorted(
        (r["table"], Path(r["file"]).name, r["column"], r["rule"], r["rows"])
        for r in quarantine_summary(store)
    )


def test_a_dutch_export_loads_like_the_plain_one_then_trains_and_runs(tmp_path: Path) -> None:
    config = _project_for_dutch_bank(tmp_path)
    raw = next((tmp_path / "bank-nl" / "snapshots").glob("*.csv")).read_bytes()
    assert raw.startswith(b"REL_NR;PEILDATUM;LEEFTIJD;SEGMENT;")
    assert "Privé Bankieren".encode("latin-1") in raw  # latin-1, not UTF-8
    assert b";J;" in raw and b";NULL;" in raw

    out = _cli("-c", str(config), "ingest")
    assert "0 unchanged, 0 refused" in out
    plain = _plain_store(tmp_path)
    with open_store(load_config(config)) as dutch, Store(plain) as clean:
        for table in TABLES:
            ours, theirs = _table(dutch, table), _table(clean, table)
            assert ours.num_rows == theirs.num_rows > 0
            assert ours.equals(theirs), table
        # the same faults, quarantined under the same rules, and nothing more
        assert _quarantined(dutch) == _quarantined(clean)
        rules = {(t, c, r) for t, _, c, r, _ in _quarantined(dutch)}
        assert ("snapshots", "total_balance", "type: not a valid DOUBLE") in rules
        segments = dict(dutch.fetchall("SELECT segment, count(*) FROM snapshots GROUP BY 1"))
        assert set(segments) == {"mass", "affluent", "private"}

    out = _cli("-c", str(config), "train")
    assert "(champion)" in out
    out = _cli(
        "-c", str(config), "run", "--by", "ana",
        "--override", "the market moved; checked by hand",
    )  # fmt: skip
    assert "status pending_review" in out
    with open_store(load_config(config)) as dutch:
        selected = dutch.fetchone(
            "SELECT count(*) FILTER (WHERE selected), count(*) FROM decisions"
        )
    assert selected is not None and selected[0] > 0 and selected[1] == CUSTOMERS
