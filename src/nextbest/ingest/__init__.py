"""Loading snapshots, market series, outcomes and audit attributes under data contracts."""

from nextbest.ingest._contracts import (
    AUDIT,
    CONTRACTS,
    CONVERSIONS,
    EMAIL_EVENTS,
    MARKET,
    SNAPSHOTS,
    ColumnContract,
    Contract,
    contract_for,
)
from nextbest.ingest._diagnose import diagnose_file
from nextbest.ingest._files import describe_source, resolve_files, source_sql
from nextbest.ingest._inspect import (
    TableSummary,
    contract_issues,
    ingest_summary,
    quarantine_rows,
    quarantine_summary,
)
from nextbest.ingest._inspect_file import Inspection, inspect_file
from nextbest.ingest._load import ContractIssue, LoadReport, LoadStatus, load_file
from nextbest.ingest._reload import reload_files
from nextbest.ingest._row_rules import cast_sql
from nextbest.ingest._sources import SOURCE_NAMES, configured_sources, ingest_source
from nextbest.ingest._transcode import duckdb_readable

__all__ = [
    "AUDIT",
    "CONTRACTS",
    "CONVERSIONS",
    "EMAIL_EVENTS",
    "MARKET",
    "SNAPSHOTS",
    "SOURCE_NAMES",
    "ColumnContract",
    "Contract",
    "ContractIssue",
    "Inspection",
    "LoadReport",
    "LoadStatus",
    "TableSummary",
    "cast_sql",
    "configured_sources",
    "contract_for",
    "contract_issues",
    "describe_source",
    "diagnose_file",
    "duckdb_readable",
    "ingest_source",
    "ingest_summary",
    "inspect_file",
    "load_file",
    "quarantine_rows",
    "quarantine_summary",
    "reload_files",
    "resolve_files",
    "source_sql",
]
