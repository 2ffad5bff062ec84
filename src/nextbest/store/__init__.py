"""The store: the only code that talks to the database (DuckDB embedded by default)."""

from nextbest.store._audit import audit_path_for
from nextbest.store._duckdb import Store, is_database_error, open_store
from nextbest.store._private import private_files
from nextbest.store._quoting import quote_identifier, quote_literal
from nextbest.store._schema import AUDIT_TABLES, DATA_TABLES, REDACTED, SCHEMA_VERSION
from nextbest.store._steps import Query, Step, Steps

__all__ = [
    "AUDIT_TABLES",
    "DATA_TABLES",
    "REDACTED",
    "SCHEMA_VERSION",
    "Query",
    "Step",
    "Steps",
    "Store",
    "audit_path_for",
    "is_database_error",
    "open_store",
    "private_files",
    "quote_identifier",
    "quote_literal",
]
