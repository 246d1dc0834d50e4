"""Stars and notes, for the History page."""

from ic.history.schema import ddl

revision, down_revision = "0002", "0001"


def upgrade() -> None:
    ddl("""
        ALTER TABLE experiments ADD COLUMN starred INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE experiments ADD COLUMN note TEXT NOT NULL DEFAULT ''
    """, version=2)
