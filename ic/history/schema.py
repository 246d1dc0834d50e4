"""The history database's schema: numbered migrations, applied in order when a database is opened.

The version is SQLite's user_version; each migration runs in its own transaction, so an older
database is upgraded in place and a crash mid-upgrade leaves it at the last complete version.
"""

from __future__ import annotations

import sqlite3

from ic.errors import ICError


def _run(db: sqlite3.Connection, script: str) -> None:
    # Statement by statement: executescript() would commit the migration's transaction early.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _migration_1(db: sqlite3.Connection) -> None:
    _run(db, """
        CREATE TABLE images (
            sha TEXT PRIMARY KEY,
            png BLOB NOT NULL
        );
        CREATE TABLE experiments (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            created_at TEXT NOT NULL,
            image_name TEXT NOT NULL,
            original_sha TEXT NOT NULL REFERENCES images(sha),
            edited_sha TEXT NOT NULL REFERENCES images(sha),
            mask_sha TEXT NOT NULL REFERENCES images(sha),
            original_thumb_sha TEXT NOT NULL REFERENCES images(sha),
            edited_thumb_sha TEXT NOT NULL REFERENCES images(sha),
            model TEXT NOT NULL,
            inpainter TEXT NOT NULL,
            top1_before TEXT NOT NULL,
            top1_after TEXT NOT NULL,
            original_top1_delta REAL NOT NULL,
            top1_changed INTEGER NOT NULL,
            summary TEXT NOT NULL
        );
        CREATE INDEX experiments_by_owner ON experiments (owner, created_at);
    """)


def _migration_2(db: sqlite3.Connection) -> None:
    """Stars and notes, for the History page."""
    _run(db, """
        ALTER TABLE experiments ADD COLUMN starred INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE experiments ADD COLUMN note TEXT NOT NULL DEFAULT '';
    """)


def _migration_3(db: sqlite3.Connection) -> None:
    """Explanation maps, kept with the experiment they explain."""
    _run(db, """
        CREATE TABLE explanations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
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
    """)


def _migration_4(db: sqlite3.Connection) -> None:
    """Comparison groups: the rows one Compare run saved together."""
    _run(db, "ALTER TABLE experiments ADD COLUMN group_id TEXT")


def _migration_5(db: sqlite3.Connection) -> None:
    """Read-only links to one experiment: an unguessable token each, gone with the experiment."""
    _run(db, """
        CREATE TABLE shares (
            token TEXT PRIMARY KEY,
            experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
            created_at TEXT NOT NULL
        );
        CREATE INDEX shares_by_experiment ON shares (experiment_id)
    """)


def _migration_6(db: sqlite3.Connection) -> None:
    """What a reload brings back: each visitor's current edit (its photo, and the states Undo steps through, as
    images shared with the experiments) and sidebar settings."""
    _run(db, """
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
    """)


def _migration_7(db: sqlite3.Connection) -> None:
    """Sweeps: each one's summary document, its plan and its rows (Parquet), per owner."""
    _run(db, """
        CREATE TABLE sweeps (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            created_at TEXT NOT NULL,
            name TEXT NOT NULL,
            plan TEXT NOT NULL,
            document TEXT NOT NULL,
            rows BLOB NOT NULL
        );
        CREATE INDEX sweeps_by_owner ON sweeps (owner, created_at)
    """)


MIGRATIONS = [_migration_1, _migration_2, _migration_3, _migration_4, _migration_5, _migration_6, _migration_7]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: sqlite3.Connection, target: int = SCHEMA_VERSION) -> None:
    """Apply the migrations a database lacks, each in its own transaction."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise ICError(f"The history database is from a newer version of this app (schema {version}); "
                      "upgrade the app, or point IC_DATA_DIR at another folder.")
    for number in range(version + 1, target + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] < number:  # another process may have just done it
                MIGRATIONS[number - 1](db)
                db.execute(f"PRAGMA user_version = {number}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
