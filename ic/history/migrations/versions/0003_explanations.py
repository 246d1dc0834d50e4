"""Explanation maps, kept with the experiment they explain."""

from ic.history.schema import ddl

revision, down_revision = "0003", "0002"


def upgrade() -> None:
    ddl("""
        CREATE TABLE explanations (
            id {serial_key},
            experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
            image TEXT NOT NULL,
            method TEXT NOT NULL,
            class_index INTEGER NOT NULL,
            label TEXT NOT NULL,
            cells TEXT NOT NULL,
            details TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX explanations_by_experiment ON explanations (experiment_id)
    """, version=3)
