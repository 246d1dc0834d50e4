"""When each person last signed out: every run of a signed-in session compares it with when that session saw them
sign in, so a sign-out in one tab (or on another replica) ends the others at their next run."""

from ic.history.schema import ddl

revision, down_revision = "0009", "0008"


def upgrade() -> None:
    ddl("""
        CREATE TABLE signouts (
            owner TEXT PRIMARY KEY,
            at TEXT NOT NULL
        )
    """, version=9)
