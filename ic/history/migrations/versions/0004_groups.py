"""Comparison groups: the rows one Compare run saved together."""

from ic.history.schema import ddl

revision, down_revision = "0004", "0003"


def upgrade() -> None:
    ddl("ALTER TABLE experiments ADD COLUMN group_id TEXT", version=4)
