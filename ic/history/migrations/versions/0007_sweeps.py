"""Sweeps: each one's summary document, its plan and its rows (Parquet), per owner."""

from ic.history.schema import ddl

revision, down_revision = "0007", "0006"


def upgrade() -> None:
    ddl("""
        CREATE TABLE sweeps (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            created_at TEXT NOT NULL,
            name TEXT NOT NULL,
            plan TEXT NOT NULL,
            document TEXT NOT NULL,
            rows {blob} NOT NULL{rowid}
        );
        CREATE INDEX sweeps_by_owner ON sweeps (owner, created_at)
    """, version=7)
