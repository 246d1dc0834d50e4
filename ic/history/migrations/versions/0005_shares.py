"""Read-only links to one experiment: an unguessable token each, gone with the experiment."""

from ic.history.schema import ddl

revision, down_revision = "0005", "0004"


def upgrade() -> None:
    ddl("""
        CREATE TABLE shares (
            token TEXT PRIMARY KEY,
            experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
            created_at TEXT NOT NULL{rowid}
        );
        CREATE INDEX shares_by_experiment ON shares (experiment_id)
    """, version=5)
