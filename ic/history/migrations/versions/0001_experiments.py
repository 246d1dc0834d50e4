"""Experiments and their images (content-addressed PNG)."""

from ic.history.schema import ddl

revision, down_revision = "0001", None


def upgrade() -> None:
    ddl("""
        CREATE TABLE images (
            sha TEXT PRIMARY KEY,
            png {blob} NOT NULL
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
            original_top1_delta {real} NOT NULL,
            top1_changed INTEGER NOT NULL,
            summary TEXT NOT NULL{rowid}
        );
        CREATE INDEX experiments_by_owner ON experiments (owner, created_at)
    """, version=1)
