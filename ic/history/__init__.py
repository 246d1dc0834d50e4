"""History: every experiment kept, in one store with one interface.

- schema.py: the database's schema and its migrations;
- store.py: `HistoryStore`, reading and writing experiments (SQLite);
- archive.py: the ZIP format for export and import;
- saver.py: writing off the page's critical path, with retries and a pending queue.
"""

from ic.history.schema import SCHEMA_VERSION, migrate
from ic.history.store import DB_NAME, HistoryStore, StoredExperiment, open_store

__all__ = ["DB_NAME", "SCHEMA_VERSION", "HistoryStore", "StoredExperiment", "migrate", "open_store"]
