"""The store: the only code that talks to the database (DuckDB embedded by default)."""

from nextbest.store._duckdb import Store, is_database_error, open_store
from nextbest.store._schema import DATA_TABLES, SCHEMA_VERSION

__all__ = ["DATA_TABLES", "SCHEMA_VERSION", "Store", "is_database_error", "open_store"]
