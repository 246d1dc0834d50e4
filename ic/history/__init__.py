"""History: every experiment kept, in one store whose repositories each keep one kind of thing.

- store.py: `HistoryStore`: SQLite in a data folder or PostgreSQL; the connections, the content-addressed
  images, the one place that turns database errors into sentences, retention (`clear`, `prune`), and the
  repositories below as attributes;
- experiments.py: experiments and the maps kept with them (`store.experiments`);
- shares.py: read-only share links (`store.shares`);
- desks.py: each visitor's current edit and settings (`store.desks`);
- sweeps.py: kept sweeps with their rows (`store.sweeps`);
- transfer.py: ZIP export and import, copies between histories (`store.transfer`);
- tables.py: the tables, defined once; schema.py and migrations/: the schema and its migrations (Alembic);
- archive.py: the ZIP format; db.py: SQLAlchemy engines, locks and errors;
- saver.py: writing off the page's critical path, with retries and a pending queue.
"""

from ic.history.experiments import MAX_NOTE, Filter, StoredExperiment
from ic.history.schema import SCHEMA_VERSION, migrate
from ic.history.store import DB_NAME, HistoryStore, open_location, open_store

__all__ = ["DB_NAME", "MAX_NOTE", "SCHEMA_VERSION", "Filter", "HistoryStore", "StoredExperiment", "migrate", "open_location",
           "open_store"]
