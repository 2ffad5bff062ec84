"""The store's tables. The data contracts in ``nextbest.ingest`` add rules on top of these."""

from __future__ import annotations

SCHEMA_VERSION = 1

#: canonical columns and SQL types of the data tables, in file order
DATA_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "snapshots": (
        ("relation_id", "BIGINT"),
        ("snapshot_date", "DATE"),
        ("age", "INTEGER"),
        ("segment", "VARCHAR"),
        ("has_savings", "BOOLEAN"),
        ("has_payment", "BOOLEAN"),
        ("n_accounts", "INTEGER"),
        ("total_balance", "DOUBLE"),
        ("app_installed", "BOOLEAN"),
        ("ib_logins_4w", "INTEGER"),
        ("optin_general", "BOOLEAN"),
        ("optin_investing", "BOOLEAN"),
        ("customer_since", "DATE"),
        ("is_investor", "BOOLEAN"),
    ),
    "market_prices": (
        ("fund", "VARCHAR"),
        ("price_date", "DATE"),
        ("price", "DOUBLE"),
    ),
    "conversions": (
        ("relation_id", "BIGINT"),
        ("conversion_date", "DATE"),
        ("amount", "DOUBLE"),
    ),
    "audit.sensitive_attributes": (
        ("relation_id", "BIGINT"),
        ("gender", "VARCHAR"),
        ("postcode_area", "VARCHAR"),
    ),
}

_META = """
CREATE SCHEMA IF NOT EXISTS audit;
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE SEQUENCE IF NOT EXISTS batch_seq START 1;
CREATE TABLE IF NOT EXISTS ingest_batches (
    batch_id BIGINT PRIMARY KEY,
    table_name VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    file_bytes BIGINT NOT NULL,
    rows_read BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    partitions VARCHAR[] NOT NULL,
    partitions_replaced INTEGER NOT NULL,
    status VARCHAR NOT NULL,           -- loaded | superseded
    loaded_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    batch_id BIGINT NOT NULL,
    table_name VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    source_row BIGINT NOT NULL,        -- 1-based data row in the file (header not counted)
    column_name VARCHAR NOT NULL,
    rule VARCHAR NOT NULL,
    value VARCHAR,
    record VARCHAR NOT NULL            -- the whole row as JSON, as read from the file
);
CREATE TABLE IF NOT EXISTS contract_issues (
    batch_id BIGINT NOT NULL,
    table_name VARCHAR NOT NULL,
    partition_value VARCHAR,
    column_name VARCHAR,
    rule VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,         -- warn | error
    figure DOUBLE,
    limit_value DOUBLE,
    message VARCHAR NOT NULL
);
"""


def ddl() -> str:
    """All CREATE statements, idempotent."""
    parts = [_META]
    for table, columns in DATA_TABLES.items():
        cols = ",\n    ".join(f"{name} {sql_type}" for name, sql_type in columns)
        parts.append(
            f"CREATE TABLE IF NOT EXISTS {table} (\n    {cols},\n    batch_id BIGINT NOT NULL\n);"
        )
    return "\n".join(parts)
