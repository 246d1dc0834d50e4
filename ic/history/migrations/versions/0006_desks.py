"""What a reload brings back: each visitor's current edit (its photo, and the states Undo steps through, as
images shared with the experiments) and sidebar settings."""

from ic.history.schema import ddl

revision, down_revision = "0006", "0005"


def upgrade() -> None:
    ddl("""
        CREATE TABLE desks (
            owner TEXT PRIMARY KEY,
            edit_id TEXT NOT NULL,
            source_key TEXT NOT NULL,
            chosen_key TEXT,
            image_name TEXT NOT NULL,
            source_sha TEXT REFERENCES images(sha),
            max_side INTEGER NOT NULL,
            position INTEGER NOT NULL DEFAULT 0,
            dropped INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE desk_steps (
            owner TEXT NOT NULL REFERENCES desks(owner) ON DELETE CASCADE,
            serial INTEGER NOT NULL,
            edited_sha TEXT NOT NULL REFERENCES images(sha),
            mask_sha TEXT NOT NULL REFERENCES images(sha),
            experiment_id TEXT,
            PRIMARY KEY (owner, serial)
        );
        CREATE TABLE visitors (
            owner TEXT PRIMARY KEY,
            settings TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
    """, version=6)
