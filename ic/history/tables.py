"""The history's tables, defined once as SQLAlchemy Core Table objects: what the INSERTs, the copies between
histories and the column lists of reads are made from. The schema itself is made and changed by the
migrations (schema.py); tests/test_history.py checks that these definitions match what they make."""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, LargeBinary, MetaData, Table, Text

metadata = MetaData()

images = Table("images", metadata, Column("sha", Text, primary_key=True), Column("png", LargeBinary, nullable=False))

experiments = Table(
    "experiments", metadata,
    Column("id", Text, primary_key=True), Column("owner", Text), Column("created_at", Text),
    Column("image_name", Text), Column("original_sha", Text), Column("edited_sha", Text), Column("mask_sha", Text),
    Column("original_thumb_sha", Text), Column("edited_thumb_sha", Text), Column("model", Text),
    Column("inpainter", Text), Column("top1_before", Text), Column("top1_after", Text),
    Column("original_top1_delta", Float), Column("top1_changed", Integer), Column("summary", Text),
    Column("starred", Integer), Column("note", Text), Column("group_id", Text),
)

explanations = Table(
    "explanations", metadata,
    Column("id", Integer, primary_key=True), Column("experiment_id", Text), Column("image", Text),
    Column("method", Text), Column("class_index", Integer), Column("label", Text), Column("cells", Text),
    Column("details", Text), Column("created_at", Text),
)

shares = Table("shares", metadata, Column("token", Text, primary_key=True), Column("experiment_id", Text),
               Column("created_at", Text))

desks = Table(
    "desks", metadata,
    Column("owner", Text, primary_key=True), Column("edit_id", Text), Column("source_key", Text),
    Column("chosen_key", Text), Column("image_name", Text), Column("source_sha", Text), Column("max_side", Integer),
    Column("position", Integer), Column("dropped", Integer), Column("updated_at", Text),
)

desk_steps = Table("desk_steps", metadata, Column("owner", Text, primary_key=True),
                   Column("serial", Integer, primary_key=True), Column("edited_sha", Text), Column("mask_sha", Text),
                   Column("experiment_id", Text))

visitors = Table("visitors", metadata, Column("owner", Text, primary_key=True), Column("settings", Text),
                 Column("updated_at", Text))

sweeps = Table(
    "sweeps", metadata,
    Column("id", Text, primary_key=True), Column("owner", Text), Column("created_at", Text), Column("name", Text),
    Column("plan", Text), Column("document", Text), Column("rows", LargeBinary),
)

people = Table("people", metadata, Column("owner", Text, primary_key=True), Column("issuer", Text), Column("subject", Text),
               Column("email", Text), Column("name", Text), Column("first_seen", Text), Column("last_seen", Text))

signouts = Table("signouts", metadata, Column("owner", Text, primary_key=True), Column("at", Text))

claims = Table("claims", metadata, Column("visitor", Text, primary_key=True), Column("owner", Text),
               Column("experiments", Integer), Column("sweeps", Integer), Column("claimed_at", Text))


def names(table: Table, *, without: tuple[str, ...] = ()) -> list[str]:
    """The table's column names, in order (less `without`: an id the database numbers itself)."""
    return [column.name for column in table.columns if column.name not in without]


def column_list(table: Table, *, without: tuple[str, ...] = (), prefix: str = "") -> str:
    """"a, b, c" for a SELECT or an INSERT."""
    return ", ".join(prefix + name for name in names(table, without=without))


def insert(table: Table, *, without: tuple[str, ...] = (), skip_existing: bool = False) -> str:
    """An INSERT of every column (less `without`) with ? placeholders; with `skip_existing`, a row whose primary
    key is there already is left as it is."""
    columns = names(table, without=without)
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    if skip_existing:
        sql += f" ON CONFLICT ({', '.join(column.name for column in table.primary_key)}) DO NOTHING"
    return sql
