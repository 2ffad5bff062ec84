"""The store's tables. The data contracts in ``nextbest.ingest`` add rules on top of these.

The audit-only tables (:data:`AUDIT_TABLES`, named ``audit.<table>``) are not created in the
store's database file: they live in a separate audit database that is attached as ``audit``
only for the statements that need it (see :meth:`nextbest.store.Store.audit`).
"""

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
        ("outcome", "VARCHAR"),
    ),
    "email_events": (
        ("relation_id", "BIGINT"),
        ("event_date", "DATE"),
        ("action", "VARCHAR"),
        ("message", "VARCHAR"),
        ("event", "VARCHAR"),
    ),
    "audit.sensitive_attributes": (
        ("relation_id", "BIGINT"),
        ("gender", "VARCHAR"),
        ("postcode_area", "VARCHAR"),
    ),
}

#: data tables that live in the audit database, never in the store's own file
AUDIT_TABLES: tuple[str, ...] = tuple(t for t in DATA_TABLES if t.startswith("audit."))

#: what quarantine holds instead of the value and the record of a row of an audit table
REDACTED = "[redacted: audit-only]"

_META = """
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
    loaded_at TIMESTAMP NOT NULL,
    reader_sha256 VARCHAR,             -- of the reading settings (NULL: loaded before they were)
    reader_json VARCHAR,               -- those settings as JSON, to name what changed
    reason VARCHAR                     -- new | settings | reload | redelivered
);
-- a re-delivered partition that a run approved or exported had read (its replay now differs)
CREATE TABLE IF NOT EXISTS input_redeliveries (
    run_id VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    partition_value VARCHAR NOT NULL,
    old_batch_id BIGINT NOT NULL,
    new_batch_id BIGINT NOT NULL,
    recorded_at TIMESTAMP NOT NULL
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
CREATE TABLE IF NOT EXISTS model_versions (
    version VARCHAR PRIMARY KEY,       -- <action>@<first 12 hex of the artifact's sha256>
    action VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    status VARCHAR NOT NULL,           -- candidate | shadow | champion | retired
    sha256 VARCHAR NOT NULL,
    features VARCHAR[] NOT NULL,
    train_first DATE NOT NULL,
    train_last DATE NOT NULL,
    metrics VARCHAR NOT NULL,          -- JSON
    artifact VARCHAR NOT NULL,         -- the model as JSON (native formats, never pickle)
    created_at TIMESTAMP NOT NULL,
    findings VARCHAR NOT NULL DEFAULT '[]',  -- JSON: leakage findings at training
    card VARCHAR NOT NULL DEFAULT '',        -- the model card (markdown)
    backtest VARCHAR                         -- JSON: backtest summary, once run
);
CREATE SEQUENCE IF NOT EXISTS event_seq START 1;
CREATE TABLE IF NOT EXISTS model_events (
    event_id BIGINT NOT NULL DEFAULT nextval('event_seq'),
    version VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    event VARCHAR NOT NULL,
    from_status VARCHAR,
    to_status VARCHAR NOT NULL,
    actor VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    event_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    snapshot_date DATE NOT NULL,
    -- halted | pending_review | approved | rejected | exported | skipped | superseded
    status VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    seed BIGINT NOT NULL,
    config_hash VARCHAR NOT NULL,
    inputs VARCHAR NOT NULL,           -- JSON: fingerprints of the input batches
    models VARCHAR NOT NULL,           -- JSON: action -> model version
    counts VARCHAR NOT NULL,           -- JSON: per action, per arm
    flags VARCHAR NOT NULL,            -- JSON: e.g. volume below the minimum
    timings VARCHAR NOT NULL,          -- JSON: seconds per step
    decision_file VARCHAR NOT NULL,
    decision_sha256 VARCHAR NOT NULL,
    override VARCHAR,                  -- JSON: who overrode failed checks, and why
    config_json VARCHAR,               -- the effective config, to replay the run exactly
    halted_reason VARCHAR,
    started_by VARCHAR,                -- who started it (CLI --by, API token name, 'system')
    superseded_by VARCHAR              -- the run of the same week that replaced this one
);
CREATE TABLE IF NOT EXISTS run_checks (
    run_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    verdict VARCHAR NOT NULL,          -- pass | warn | halt
    figure DOUBLE,
    limit_text VARCHAR NOT NULL,
    message VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS run_events (
    run_id VARCHAR NOT NULL,
    -- created | halted | approved | rejected | exported | export_refused | skipped | superseded
    event VARCHAR NOT NULL,
    actor VARCHAR NOT NULL,
    comment VARCHAR NOT NULL,
    event_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS exports (
    run_id VARCHAR PRIMARY KEY,
    csv_file VARCHAR NOT NULL,
    parquet_file VARCHAR NOT NULL,
    rows BIGINT NOT NULL,
    sha256 VARCHAR NOT NULL,           -- of csv_file
    exported_at TIMESTAMP NOT NULL,
    parquet_sha256 VARCHAR,
    stops_file VARCHAR,
    stops_sha256 VARCHAR
);
CREATE TABLE IF NOT EXISTS realtime_log (
    decided_at TIMESTAMP NOT NULL,
    relation_id BIGINT,
    action VARCHAR NOT NULL,
    champion_version VARCHAR NOT NULL,
    champion_score DOUBLE NOT NULL,
    shadow_version VARCHAR NOT NULL,
    shadow_score DOUBLE NOT NULL
);
CREATE TABLE IF NOT EXISTS knob_changes (
    action VARCHAR NOT NULL,
    knob VARCHAR NOT NULL,
    old_value VARCHAR,
    new_value VARCHAR NOT NULL,
    actor VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    changed_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS decisions (
    run_id VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    relation_id BIGINT NOT NULL,
    snapshot_date DATE NOT NULL,
    eligible BOOLEAN NOT NULL,
    first_failed_rule VARCHAR,
    score DOUBLE,
    rank INTEGER,
    selected BOOLEAN NOT NULL,
    arm VARCHAR NOT NULL,              -- treat | holdout | explore | none
    assignment_probability DOUBLE NOT NULL,
    reasons VARCHAR,
    shadow_score DOUBLE,               -- the shadow model's score, when the action has one
    shadow_selected BOOLEAN            -- whether the shadow would have selected the customer
);
CREATE TABLE IF NOT EXISTS contacts (
    relation_id BIGINT NOT NULL,
    action VARCHAR NOT NULL,
    contact_date DATE NOT NULL,
    run_id VARCHAR NOT NULL,
    arm VARCHAR NOT NULL
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


#: column defaults of the data tables, for rows written without the column (conversions from
#: before outcomes existed are all investing)
_DEFAULTS = {("conversions", "outcome"): "'investing'"}


def _create_table(table: str, columns: tuple[tuple[str, str], ...]) -> str:
    cols = ",\n    ".join(
        f"{name} {sql_type}"
        + (f" DEFAULT {_DEFAULTS[(table, name)]}" if (table, name) in _DEFAULTS else "")
        for name, sql_type in columns
    )
    return f"CREATE TABLE IF NOT EXISTS {table} (\n    {cols},\n    batch_id BIGINT NOT NULL\n);"


def ddl() -> str:
    """All CREATE statements of the store's own file, idempotent (no audit table)."""
    parts = [_META]
    for table, columns in DATA_TABLES.items():
        if table not in AUDIT_TABLES:
            parts.append(_create_table(table, columns))
    parts.append(_MIGRATIONS)
    return "\n".join(parts)


def audit_ddl(catalog: str = "audit") -> str:
    """The CREATE statements of the audit database attached as ``catalog``, idempotent."""
    return "\n".join(
        _create_table(f"{catalog}.{table.removeprefix('audit.')}", DATA_TABLES[table])
        for table in AUDIT_TABLES
    )


# Columns added after a table first shipped: stores made by an earlier version get them too.
_MIGRATIONS = """
ALTER TABLE model_versions ADD COLUMN IF NOT EXISTS findings VARCHAR DEFAULT '[]';
ALTER TABLE model_versions ADD COLUMN IF NOT EXISTS card VARCHAR DEFAULT '';
ALTER TABLE model_versions ADD COLUMN IF NOT EXISTS backtest VARCHAR;
ALTER TABLE decisions ADD COLUMN IF NOT EXISTS shadow_score DOUBLE;
ALTER TABLE decisions ADD COLUMN IF NOT EXISTS shadow_selected BOOLEAN;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS override VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS config_json VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS halted_reason VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS started_by VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS superseded_by VARCHAR;
ALTER TABLE exports ADD COLUMN IF NOT EXISTS parquet_sha256 VARCHAR;
ALTER TABLE exports ADD COLUMN IF NOT EXISTS stops_file VARCHAR;
ALTER TABLE exports ADD COLUMN IF NOT EXISTS stops_sha256 VARCHAR;
ALTER TABLE ingest_batches ADD COLUMN IF NOT EXISTS reader_sha256 VARCHAR;
ALTER TABLE ingest_batches ADD COLUMN IF NOT EXISTS reader_json VARCHAR;
ALTER TABLE ingest_batches ADD COLUMN IF NOT EXISTS reason VARCHAR;
ALTER TABLE conversions ADD COLUMN IF NOT EXISTS outcome VARCHAR DEFAULT 'investing';
"""
