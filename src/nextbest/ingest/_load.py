"""Loading one file into the store under its data contract.

All row work is one set of SQL statements over a staging table; Python only assembles the SQL.
The whole load of a file is one transaction: it is either fully visible (rows, quarantine,
issues, batch record) or not at all, so a crash never leaves half a week behind.

The audit-only table lives in its own database (attached for the load only), and one
transaction writes one database file: its rows are replaced first, then the batch is recorded
in the store. A crash in between leaves a file without a batch record, which the next ingest
simply loads again. Quarantined audit rows keep the file, row number, column and rule, never
the sensitive values (:data:`REDACTED`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from nextbest.config import SourceConfig
from nextbest.errors import SourceFileError
from nextbest.ingest._contracts import Contract
from nextbest.ingest._files import describe_source, file_format, map_columns, sha256, source_sql
from nextbest.ingest._reading import (
    LoadReason,
    reader_json,
    reader_sha256,
    reload_note,
    unchanged_batch,
    why_loaded,
)
from nextbest.ingest._redelivery import record_redeliveries, redeliveries_of
from nextbest.ingest._refusal import refuse_when_one_rule_fails_most
from nextbest.ingest._refused import RowsRefusedError, staged_partitions
from nextbest.ingest._row_rules import cast_sql, raw_sql, row_rules
from nextbest.store import REDACTED, Store, is_database_error, quote_identifier, quote_literal


@dataclass(frozen=True)
class ContractIssue:
    """A batch-level finding of the contract (e.g. too many nulls in one week)."""

    partition: str | None
    column: str | None
    rule: str
    severity: str  # "warn" | "error"
    figure: float
    limit: float | None
    message: str


#: what happened to a file: loaded as a new batch, already loaded unchanged (skipped), or
#: refused as a whole (nothing written; ``LoadReport.reason`` says why)
LoadStatus = Literal["loaded", "unchanged", "refused"]


@dataclass(frozen=True)
class LoadReport:
    """What happened to one file."""

    table: str
    source_file: str
    status: LoadStatus
    batch_id: int | None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    partitions: tuple[str, ...] = ()
    partitions_replaced: int = 0
    quarantine_by_rule: dict[str, int] = field(default_factory=dict)
    issues: tuple[ContractIssue, ...] = ()
    seconds: float = 0.0
    #: for a refused file, the one-line reason (without the file name)
    reason: str | None = None


def _stage(
    store: Store,
    contract: Contract,
    mapping: dict[str, str],
    file_types: dict[str, str],
    path: Path,
    fmt: str,
    source: SourceConfig,
) -> set[str]:
    """Create the temp table ``_stage``: typed columns plus each row's list of violations.

    The text of a value is kept only for columns that need a cast (CSV, or a Parquet column of
    another type); a column already of the right type cannot fail its cast. Returns the
    columns whose text was kept.
    """
    selects = ["src._row AS _row"]
    materialised: set[str] = set()
    for col in contract.columns:
        sql_type = contract.sql_type(col.name)
        if col.name not in mapping:
            value = "NULL" if col.default is None else quote_literal(col.default)
            selects.append(f"CAST({value} AS {sql_type}) AS {quote_identifier(col.name)}")
            continue
        src = "src." + quote_identifier(mapping[col.name])
        same_type = file_types.get(mapping[col.name], "").upper() == sql_type
        if same_type and col.name not in source.recode:
            selects.append(f"{src} AS {quote_identifier(col.name)}")
            continue
        materialised.add(col.name)
        selects.append(f"CAST({src} AS VARCHAR) AS {quote_identifier(col.name + '__raw')}")
        selects.append(
            f"{cast_sql(col, sql_type, src, fmt, source)} AS {quote_identifier(col.name)}"
        )
    rules = row_rules(contract, set(mapping), materialised)
    store.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _stage AS
        SELECT *, list_filter({rules.sql}, lambda x: x IS NOT NULL) AS _violations
        FROM (SELECT {", ".join(selects)} FROM ({source_sql(path, fmt, source)}) AS src)
        """,
        dict(rules.params),
    )
    _mark_duplicates(store, contract)
    return materialised


def _mark_duplicates(store: Store, contract: Contract) -> None:
    """Add the unique-key violation to rows whose key repeats (a small set, found by GROUP BY).

    Rows sharing a key with different values are all marked (nobody can tell which is right);
    of exact copies, the first is kept and the later ones are marked.
    """
    key = ", ".join(quote_identifier(k) for k in contract.key)
    key_not_null = " AND ".join(f"{quote_identifier(k)} IS NOT NULL" for k in contract.key)
    row_hash = "hash(" + ", ".join(f"s.{quote_identifier(c.name)}" for c in contract.columns) + ")"
    key_join = " AND ".join(
        f"s.{quote_identifier(k)} = k.{quote_identifier(k)}" for k in contract.key
    )
    key_text = " || ', ' || ".join(
        f"{quote_literal(k + '=')} || coalesce(CAST(d.{quote_identifier(k)} AS VARCHAR), 'NULL')"
        for k in contract.key
    )
    key_name = quote_literal(", ".join(contract.key))
    store.execute(
        f"""
        UPDATE _stage SET _violations = list_append(_stage._violations, CASE
            WHEN d.conflict THEN {{'c': {key_name},
                'r': 'unique: conflicting rows share this key', 'v': {key_text}}}
            ELSE {{'c': {key_name}, 'r': 'unique: exact copy of an earlier row',
                'v': {key_text} || ' (same as row ' || d.first_row || ')'}}
            END)
        FROM (
            SELECT s._row, {", ".join(f"s.{quote_identifier(k)}" for k in contract.key)},
                min({row_hash}) OVER w <> max({row_hash}) OVER w AS conflict,
                min(s._row) OVER w AS first_row
            FROM _stage s
            JOIN (SELECT {key} FROM _stage WHERE {key_not_null}
                  GROUP BY {key} HAVING count(*) > 1) k ON {key_join}
            WINDOW w AS (PARTITION BY {", ".join(f"s.{quote_identifier(k)}" for k in contract.key)})
        ) d
        WHERE _stage._row = d._row AND (d.conflict OR d._row > d.first_row)
        """
    )


def _issues(
    store: Store, contract: Contract, rows_read: int, rows_quarantined: int
) -> list[ContractIssue]:
    """The batch rules: nulls per column and partition above the column's limit, and the share
    of quarantined rows; each message names the setting that holds its limit."""
    issues: list[ContractIssue] = []
    limited = [c for c in contract.columns if c.max_null_fraction is not None]
    part = contract.partition
    if limited:
        part_expr = f"CAST({quote_identifier(part)} AS VARCHAR)" if part else "NULL"
        aggs = ", ".join(f"avg(({quote_identifier(c.name)} IS NULL)::DOUBLE)" for c in limited)
        rows = store.fetchall(
            f"SELECT {part_expr} AS p, count(*), {aggs} FROM _stage "
            "WHERE len(_violations) = 0 GROUP BY ALL ORDER BY p"
        )
        for p, n, *fractions in rows:
            where = f" of {'week' if part == 'snapshot_date' else part} {p}" if part else ""
            for col, frac in zip(limited, fractions, strict=True):
                limit = float(col.max_null_fraction or 0.0)
                if frac is not None and frac > limit:
                    message = (
                        f"{contract.table}.{col.name} is null in {frac:.1%} of {n:,} rows{where} "
                        f"(limit {_percent(limit)}, `{col.null_limit_setting}`); ask the "
                        "warehouse to re-deliver, or raise the limit knowingly"
                    )
                    issues.append(
                        ContractIssue(p, col.name, "null_limit", "error", frac, limit, message)
                    )
    if rows_quarantined:
        share, limit = rows_quarantined / max(rows_read, 1), contract.quarantine_error_share
        message = (
            f"{rows_quarantined:,} of {rows_read:,} rows ({share:.2%}) failed the "
            f"{contract.table} contract and were quarantined; see 'nextbest quarantine' "
            f"({'above' if share > limit else 'within'} the error limit {_percent(limit)}, "
            "`[contracts] quarantine_error_share`)"
        )
        severity = "error" if share > limit else "warn"
        figure = float(rows_quarantined)
        issues.append(
            ContractIssue(None, None, "rows_quarantined", severity, figure, limit, message)
        )
    return issues


def _percent(share: float) -> str:
    """A limit as a percentage without false precision: 0.01 → '1%', 0.005 → '0.5%'."""
    return f"{round(share * 100, 4):g}%"


def load_file(
    store: Store,
    contract: Contract,
    path: Path,
    source: SourceConfig,
    *,
    setting: str,
    reload: bool = False,
) -> LoadReport:
    """Load one file into ``contract.table``; see the module docstring for the guarantees.

    A file already loaded with the same content and reading settings is skipped, unless
    ``reload`` asks to read it again (a new batch, reason ``reload``)."""
    t0 = time.perf_counter()
    fmt = file_format(path, source)
    digest = sha256(path)
    previous = (
        None
        if reload
        else unchanged_batch(store, contract.table, digest, reader_sha256(source, contract))
    )
    if previous is not None:
        return LoadReport(
            table=contract.table,
            source_file=str(path),
            status="unchanged",
            batch_id=previous,
            seconds=time.perf_counter() - t0,
        )
    if contract.audit_only:
        with store.audit():
            return _load(store, contract, path, source, fmt, digest, t0, setting=setting)
    return _load(store, contract, path, source, fmt, digest, t0, setting=setting)


def _load(
    store: Store,
    contract: Contract,
    path: Path,
    source: SourceConfig,
    fmt: str,
    digest: str,
    t0: float,
    *,
    setting: str,
) -> LoadReport:
    file_types = describe_source(store, path, fmt, source, setting=setting)
    mapping = map_columns(contract, list(file_types), source, path, setting=setting)
    try:
        materialised = _stage(store, contract, mapping, file_types, path, fmt, source)
    except Exception as exc:
        if not is_database_error(exc):
            raise
        first = str(exc).strip().splitlines()[0]
        raise SourceFileError(
            f"{path}: could not be read as a whole ({first}); fix the file or its "
            f"format settings in {setting}"
        ) from None
    try:
        return _commit(store, contract, path, digest, t0, materialised, source, setting=setting)
    except SourceFileError as exc:  # refused after reading: say which partitions it held
        raise RowsRefusedError(str(exc), partitions=staged_partitions(store, contract)) from None
    finally:
        store.execute("DROP TABLE IF EXISTS _stage")


def _commit(
    store: Store,
    contract: Contract,
    path: Path,
    digest: str,
    t0: float,
    materialised: set[str],
    source: SourceConfig,
    *,
    setting: str,
) -> LoadReport:
    counts = store.fetchone(
        "SELECT count(*), count(*) FILTER (WHERE len(_violations) > 0) FROM _stage"
    )
    assert counts is not None
    rows_read, rows_quarantined = int(counts[0]), int(counts[1])
    if rows_read == 0:
        raise SourceFileError(f"{path}: the file has no data rows; ask for a re-delivery")
    part = contract.partition
    partitions: list[str] = []
    if part:
        partitions = [
            r[0]
            for r in store.fetchall(
                f"SELECT DISTINCT CAST({quote_identifier(part)} AS VARCHAR) AS p FROM _stage "
                f"WHERE {quote_identifier(part)} IS NOT NULL AND len(_violations) = 0 ORDER BY p"
            )
        ]
    by_rule = {
        str(r[0]): int(r[1])
        for r in store.fetchall(
            "SELECT v.r, count(*) FROM (SELECT unnest(_violations) AS v FROM _stage) "
            "GROUP BY ALL ORDER BY 2 DESC, 1"
        )
    }
    refuse_when_one_rule_fails_most(store, path, source, rows_read, setting=setting)
    issues = _issues(store, contract, rows_read, rows_quarantined)
    reason, changed = why_loaded(store, contract.table, digest, source, contract)
    staged = _Staged(
        path, digest, rows_read, rows_quarantined, partitions, issues, materialised, source, reason
    )
    if contract.audit_only:
        # one transaction writes one database: the audit rows first, then the batch record
        batch_id = int(store.scalar("SELECT nextval('batch_seq')"))
        with store.transaction():
            replaced = _replace_rows(store, contract, partitions, batch_id)
        with store.transaction():
            _record_batch(store, contract, staged, batch_id, replaced)
    else:
        with store.transaction():
            batch_id = int(store.scalar("SELECT nextval('batch_seq')"))
            replaced = _replace_rows(store, contract, partitions, batch_id)
            _record_batch(store, contract, staged, batch_id, replaced)
    return LoadReport(
        table=contract.table,
        source_file=str(path),
        status="loaded",
        batch_id=batch_id,
        rows_read=rows_read,
        rows_loaded=rows_read - rows_quarantined,
        rows_quarantined=rows_quarantined,
        partitions=tuple(partitions),
        partitions_replaced=replaced,
        quarantine_by_rule=by_rule,
        issues=(*issues, *_reload_notes(store, contract, batch_id, reason, changed)),
        seconds=time.perf_counter() - t0,
    )


def _reload_notes(
    store: Store, contract: Contract, batch_id: int, reason: LoadReason, changed: tuple[str, ...]
) -> list[ContractIssue]:
    """Why a known file was read again, and which approved or exported runs had read the
    partitions it replaced: said in the report only (not in ``contract_issues``, so they
    never halt a run)."""
    note = reload_note(reason, changed)
    notes = [] if note is None else [ContractIssue(None, None, "reloaded", "warn", 0, None, note)]
    part = contract.partition or ""
    return notes + [
        ContractIssue(
            u.partitions[-1],
            part,
            "redelivered_input",
            "warn",
            len(u.partitions),
            None,
            u.message(contract.table, part),
        )
        for u in redeliveries_of(store, batch_id)
    ]


def _replace_rows(store: Store, contract: Contract, partitions: list[str], batch_id: int) -> int:
    """Replace the file's partitions (or the whole table) with its valid rows; returns how
    many partitions (or whether the table) held rows before."""
    part = contract.partition
    cols = ", ".join(quote_identifier(c.name) for c in contract.columns)
    if part:
        part_type = contract.sql_type(part)
        replaced = int(
            store.scalar(
                f"SELECT count(DISTINCT {quote_identifier(part)}) FROM {contract.table} "
                f"WHERE {quote_identifier(part)} IN "
                f"(SELECT CAST(unnest(?::VARCHAR[]) AS {part_type}))",
                [partitions],
            )
        )
        record_redeliveries(store, contract, partitions, batch_id)
        store.execute(
            f"DELETE FROM {contract.table} "
            f"WHERE {quote_identifier(part)} IN (SELECT CAST(unnest(?::VARCHAR[]) AS {part_type}))",
            [partitions],
        )
    else:
        replaced = int(store.scalar(f"SELECT count(*) > 0 FROM {contract.table}"))
        store.execute(f"DELETE FROM {contract.table}")
    store.execute(
        f"INSERT INTO {contract.table} ({cols}, batch_id) "
        f"SELECT {cols}, ? FROM _stage WHERE len(_violations) = 0",
        [batch_id],
    )
    return replaced


@dataclass(frozen=True)
class _Staged:
    """What the staged file adds up to, for its batch record."""

    path: Path
    digest: str
    rows_read: int
    rows_quarantined: int
    partitions: list[str]
    issues: list[ContractIssue]
    materialised: set[str]
    #: the source whose settings read the file, and why it was read (see ``why_loaded``)
    source: SourceConfig
    reason: LoadReason


def _record_batch(
    store: Store, contract: Contract, staged: _Staged, batch_id: int, replaced: int
) -> None:
    """Quarantine, contract issues and the batch record, in the store's own file."""
    path, digest, partitions = staged.path, staged.digest, staged.partitions
    rows_read, rows_quarantined = staged.rows_read, staged.rows_quarantined
    issues = staged.issues
    if contract.audit_only:
        value, record = quote_literal(REDACTED), quote_literal(REDACTED)
    else:
        value = "v.v"
        record = (
            "CAST(json_object("
            + ", ".join(
                f"{quote_literal(c.name)}, {raw_sql(c.name, staged.materialised)}"
                for c in contract.columns
            )
            + ") AS VARCHAR)"
        )
    part = contract.partition
    store.execute(
        f"""
        INSERT INTO quarantine
        SELECT ?, ?, ?, _row, v.c, v.r, {value}, {record}
        FROM (SELECT *, unnest(_violations) AS v FROM _stage WHERE len(_violations) > 0)
        ORDER BY _row
        """,
        [batch_id, contract.table, str(path)],
    )
    for issue in issues:
        store.execute(
            "INSERT INTO contract_issues VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                batch_id,
                contract.table,
                issue.partition,
                issue.column,
                issue.rule,
                issue.severity,
                issue.figure,
                issue.limit,
                issue.message,
            ],
        )
    store.execute(
        """
        INSERT INTO ingest_batches (batch_id, table_name, source_file, file_sha256, file_bytes,
            rows_read, rows_loaded, rows_quarantined, partitions, partitions_replaced, status,
            loaded_at, reader_sha256, reader_json, reason)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?::VARCHAR[], ?, 'loaded', now()::TIMESTAMP, ?, ?, ?)
        """,
        [
            batch_id,
            contract.table,
            str(path),
            digest,
            path.stat().st_size,
            rows_read,
            rows_read - rows_quarantined,
            rows_quarantined,
            partitions,
            replaced,
            reader_sha256(staged.source, contract),
            reader_json(staged.source, contract),
            staged.reason,
        ],
    )
    # earlier batches whose every partition has now been re-delivered are superseded
    store.execute(
        """
        UPDATE ingest_batches SET status = 'superseded'
        WHERE table_name = ? AND status = 'loaded' AND batch_id <> ?
          AND (? OR list_has_all(?::VARCHAR[], partitions))
        """,
        [contract.table, batch_id, part is None, partitions],
    )
