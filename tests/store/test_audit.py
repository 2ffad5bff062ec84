"""The audit table lives in its own database file, attached only inside ``Store.audit``."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import duckdb
import pytest

from nextbest.errors import ConfigError, StoreError
from nextbest.features import FEATURES, FeatureDefinition, FeatureSet, build_features
from nextbest.store import REDACTED, Store, audit_path_for

D = dt.date(2025, 3, 2)

# the attack of issue 11, as if the config grammar had been bypassed
GENDER_SQL = (
    "(SELECT CASE struct_extract(s, 'gen' || 'der') WHEN 'F' THEN 1 END "
    "FROM audit.sensitive_attributes s WHERE s.relation_id = base.relation_id)"
)


def _fill(store: Store) -> None:
    for rid, gender in ((1, "F"), (2, "M")):
        store.execute(
            "INSERT INTO snapshots VALUES (?, ?, 40, 'mass', true, true, 2, 1000.0, true, 5, "
            "true, true, DATE '2020-01-01', false, 0)",
            [rid, D],
        )
        with store.audit():
            store.execute(
                "INSERT INTO audit.sensitive_attributes VALUES (?, ?, '10', 0)", [rid, gender]
            )


def _private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


@pytest.mark.parametrize("where", ["file", "memory"])
def test_feature_query_cannot_reach_the_audit_table(tmp_path: Path, where: str) -> None:
    """Even with the grammar bypassed (a feature defined in code), the audit table does not
    exist on the connection that builds features; inside ``audit()`` it does."""
    path = ":memory:" if where == "memory" else tmp_path / "bank.duckdb"
    with Store(path) as store:
        _fill(store)
        leaking = FeatureSet(
            definitions=(
                FEATURES["age"],
                FeatureDefinition("gender_code", GENDER_SQL, "an attack", "custom"),
            ),
            market_fund="balanced",
        )
        with pytest.raises(ConfigError, match=r"sensitive_attributes.*does not exist"):
            build_features(store, leaking, [D])
        with pytest.raises(duckdb.CatalogException):
            store.fetchall("SELECT * FROM audit.sensitive_attributes")
        assert "audit" not in {
            r[0] for r in store.fetchall("SELECT database_name FROM duckdb_databases()")
        }
        with store.audit():
            assert store.scalar("SELECT count(*) FROM audit.sensitive_attributes") == 2


def test_audit_data_is_not_in_the_store_file(tmp_path: Path) -> None:
    """The store's own file has no audit schema; the audit file next to it holds the rows,
    and both are private to their owner."""
    path = tmp_path / "bank.duckdb"
    with Store(path) as store:
        _fill(store)
    audit = audit_path_for(path)
    assert audit == tmp_path / "bank.audit.duckdb"
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute(
            "SELECT count(*) FROM duckdb_schemas() WHERE schema_name = 'audit'"
        ).fetchone() == (0,)
    finally:
        con.close()
    con = duckdb.connect(str(audit), read_only=True)
    try:
        assert con.execute("SELECT gender FROM sensitive_attributes ORDER BY 1").fetchall() == [
            ("F",),
            ("M",),
        ]
    finally:
        con.close()
    assert _private(path) and _private(audit)


def test_read_only_store_reads_the_audit_table(tmp_path: Path) -> None:
    """A read-only store attaches the audit database read-only, or an empty one when the file
    does not exist yet."""
    with Store(tmp_path / "a.duckdb") as store:
        _fill(store)
    with Store(tmp_path / "a.duckdb", read_only=True) as store, store.audit():
        assert store.scalar("SELECT count(*) FROM audit.sensitive_attributes") == 2
        with pytest.raises(duckdb.Error, match="read-only"):
            store.execute("DELETE FROM audit.sensitive_attributes")
    with Store(tmp_path / "b.duckdb"):
        pass
    with Store(tmp_path / "b.duckdb", read_only=True) as store, store.audit():
        assert store.scalar("SELECT count(*) FROM audit.sensitive_attributes") == 0
    assert not audit_path_for(tmp_path / "b.duckdb").exists()


def _legacy_store(path: Path) -> None:
    """A store as an earlier version made it: the audit table inside the store's file."""
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE SCHEMA audit; CREATE TABLE audit.sensitive_attributes (relation_id BIGINT, "
        "gender VARCHAR, postcode_area VARCHAR, batch_id BIGINT NOT NULL)"
    )
    con.execute(
        "INSERT INTO audit.sensitive_attributes "
        "SELECT i, 'F', 'PC-MARKER-' || i, 1 FROM range(1, 501) t(i)"
    )
    con.execute("CREATE SEQUENCE batch_seq START 1; SELECT nextval('batch_seq')")
    con.execute(
        "CREATE TABLE quarantine (batch_id BIGINT NOT NULL, table_name VARCHAR NOT NULL, "
        "source_file VARCHAR NOT NULL, source_row BIGINT NOT NULL, column_name VARCHAR NOT NULL, "
        "rule VARCHAR NOT NULL, value VARCHAR, record VARCHAR NOT NULL)"
    )
    con.execute(
        "INSERT INTO quarantine VALUES (1, 'audit.sensitive_attributes', 'a.csv', 3, 'gender', "
        "'allowed: not one of F/M/X', 'PC-MARKER-Q', '{\"postcode_area\": \"PC-MARKER-Q\"}')"
    )
    con.close()
    path.chmod(0o644)


def test_legacy_audit_table_is_moved_on_open(tmp_path: Path) -> None:
    """Opening a store that still holds ``audit.sensitive_attributes`` moves its rows to the
    audit database, drops it, redacts the audit rows in quarantine, and rewrites the file
    (private now) so the values are gone from its bytes."""
    path = tmp_path / "old.duckdb"
    _legacy_store(path)
    assert b"PC-MARKER-" in path.read_bytes()
    with Store(path) as store:
        with pytest.raises(duckdb.CatalogException):
            store.fetchall("SELECT * FROM audit.sensitive_attributes")
        with store.audit():
            assert store.scalar("SELECT count(*) FROM audit.sensitive_attributes") == 500
        assert store.scalar("SELECT nextval('batch_seq')") == 2  # sequences survive the rewrite
        assert store.fetchall("SELECT value, record FROM quarantine") == [(REDACTED, REDACTED)]
    assert b"PC-MARKER-" not in path.read_bytes()
    assert not (tmp_path / "old.duckdb.rewrite").exists()
    assert _private(path) and _private(audit_path_for(path))
    with Store(path) as store, store.audit():  # opening again changes nothing
        assert store.scalar("SELECT count(*) FROM audit.sensitive_attributes") == 500


def test_read_only_legacy_store_says_how_to_move_the_audit_table(tmp_path: Path) -> None:
    """A read-only open cannot move the table; asking for the audit data says what to do."""
    path = tmp_path / "old.duckdb"
    _legacy_store(path)
    with (
        Store(path, read_only=True) as store,
        pytest.raises(StoreError, match="read-write"),
        store.audit(),
    ):
        pass


def test_world_readable_store_is_tightened_on_open(tmp_path: Path) -> None:
    """A store file left readable by others (an earlier version) is made private when opened
    read-write."""
    path = tmp_path / "bank.duckdb"
    with Store(path):
        pass
    path.chmod(0o644)
    with Store(path, read_only=True):
        pass
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # a read-only open changes nothing
    with Store(path):
        pass
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_connection_is_free_after_open_and_audit(tmp_path: Path) -> None:
    """Opening the store and leaving ``audit()`` leave no half-read result behind: the next
    statement may be anything, e.g. registering an Arrow table."""
    import pyarrow as pa

    for path in (":memory:", tmp_path / "bank.duckdb"):
        with Store(path) as store:
            store.register("t", pa.table({"a": [1]}))
            store.unregister("t")
            with store.audit():
                store.register("t", pa.table({"a": [1]}))
            store.unregister("t")
