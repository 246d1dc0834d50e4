"""People who signed in (their identity at the provider, and how to name them), and visitor links they claimed."""

from ic.history.schema import ddl

revision, down_revision = "0008", "0007"


def upgrade() -> None:
    ddl("""
        CREATE TABLE people (
            owner TEXT PRIMARY KEY,
            issuer TEXT NOT NULL,
            subject TEXT NOT NULL,
            email TEXT NOT NULL,
            name TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL
        );
        CREATE INDEX people_by_email ON people (email);
        CREATE TABLE claims (
            visitor TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            experiments INTEGER NOT NULL,
            sweeps INTEGER NOT NULL,
            claimed_at TEXT NOT NULL
        )
    """, version=8)
