"""The experiment store: round trips, migrations, concurrency, crashes, privacy, export and import."""

import io
import json
import sqlite3
import subprocess
import sys
import threading
import zipfile
from datetime import UTC

import numpy as np
import pytest
from builders import png_declaring, zip_of

from ic.errors import ICError
from ic.experiment import EditSession
from ic.history import DB_NAME, SCHEMA_VERSION, Filter, HistoryStore, migrate
from ic.history.db import Database
from ic.inpaint import get_inpainter

from conftest import ROOT, cli_env, sql


def make_records(camera, lite0, count=1, inpainter="telea"):
    session = EditSession(camera, "camera.png")
    records = []
    for i in range(count):
        mask = np.zeros(session.shape, bool)
        mask[300 + 10 * i:340 + 10 * i, 270:320] = True
        records.append(session.apply(mask, get_inpainter(inpainter), lite0))
    return records


def images_count(store) -> int:
    return sql(store, "SELECT COUNT(*) FROM images")[0][0]


def test_round_trip_keeps_images_and_numbers(store, records):
    record = records[0]
    experiment_id = store.experiments.add(record, owner="alice")
    [row] = store.experiments.list("alice")
    assert row.id == experiment_id and row.image_name == "camera.png"
    assert row.top1_before == "tripod" and row.model == "tf_efficientnet_lite0" and row.inpainter == "telea"
    assert row.summary == json.loads(json.dumps(record.summary()))
    stored = store.experiments.get(experiment_id, "alice")
    assert np.array_equal(stored.images["original"], record.original)
    assert np.array_equal(stored.images["edited"], record.edited)
    assert np.array_equal(stored.images["mask"], record.mask)
    original_png, edited_png = store.experiments.thumbnails([experiment_id])[experiment_id]
    assert original_png.startswith(b"\x89PNG") and edited_png.startswith(b"\x89PNG")


def test_a_photo_kept_by_many_experiments_is_stored_once_and_goes_with_the_last(store, records):
    first, second = (store.experiments.add(record, owner="alice") for record in records[:2])
    assert images_count(store) == 1 + 2 * 2 + 1 + 2  # original, 2 edited, 2 masks, original thumb, 2 edited thumbs
    store.experiments.delete(first, "alice")
    assert images_count(store) == 5  # the shared original and its thumbnail stay, with the second experiment
    store.experiments.delete(second, "alice")
    assert images_count(store) == 0


def test_an_older_database_is_migrated_and_keeps_its_rows(tmp_path, records):
    folder = tmp_path / "old"
    folder.mkdir()
    store_v1_row = HistoryStore(tmp_path / "scratch")  # a v1 row's values, made with today's code
    store_v1_row.experiments.add(records[0], owner="alice")
    with sqlite3.connect(store_v1_row.path) as source:
        images = source.execute("SELECT sha, png FROM images").fetchall()
        row = source.execute("SELECT id, owner, created_at, image_name, original_sha, edited_sha, mask_sha, "
                             "original_thumb_sha, edited_thumb_sha, model, inpainter, top1_before, top1_after, "
                             "original_top1_delta, top1_changed, summary FROM experiments").fetchone()
    migrate(Database(path=folder / DB_NAME).engine, target="0001")  # the schema as version 1 shipped it
    old = sqlite3.connect(folder / DB_NAME, isolation_level=None)
    old.execute("DROP TABLE alembic_version")  # as the app wrote it before Alembic: user_version alone
    old.executemany("INSERT INTO images VALUES (?, ?)", images)
    old.execute(f"INSERT INTO experiments VALUES ({', '.join('?' * len(row))})", row)
    assert old.execute("PRAGMA user_version").fetchone()[0] == 1
    old.close()

    store = HistoryStore(folder)
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 9
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("0009",)]
    [migrated] = store.experiments.list("alice")
    assert migrated.id == row[0] and migrated.starred is False and migrated.note == ""
    assert store.experiments.annotate(migrated.id, "alice", starred=True, note="glove matters")
    assert store.experiments.list("alice")[0].note == "glove matters"


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    folder = tmp_path / "future"
    folder.mkdir()
    with sqlite3.connect(folder / DB_NAME) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ICError, match="newer version"):
        HistoryStore(folder)


def test_concurrent_writers_from_threads_lose_nothing(store, records):
    errors = []

    def writer(owner):
        try:
            for record in records:
                store.experiments.add(record, owner=owner)
        except Exception as exc:  # collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"visitor-{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.experiments.count("anyone", shared=True) == 8 * len(records)
    assert all(store.experiments.count(f"visitor-{i}") == len(records) for i in range(8))
    assert images_count(store) == 1 + 3 * 2 + 1 + 3  # each image once, whoever wrote it first


KILLED_WRITER = """
import sys, threading, time
import numpy as np
sys.path.insert(0, {root!r})
from ic.history import HistoryStore
from ic.experiment import EditSession
from ic.classifiers import get_classifier
from ic.images import decode_image
from ic.inpaint import get_inpainter

store = HistoryStore(**{location!r})
session = EditSession(decode_image({image!r}), "camera.png")
mask = np.zeros(session.shape, bool); mask[300:340, 270:320] = True
record = session.apply(mask, get_inpainter("telea"), get_classifier("tf_efficientnet_lite0"))
from ic.history.experiments import Experiments
original_insert = Experiments._insert_row
def stalled_insert(db, values):
    original_insert(db, values)
    print("inside the transaction", flush=True)
    threading.Event().wait()  # stays inside the transaction until the test kills it
Experiments._insert_row = staticmethod(stalled_insert)
store.experiments.add(record, owner="alice")
"""


def test_a_writer_killed_mid_transaction_leaves_a_consistent_database(store, history_location, records):
    store.experiments.add(records[0], owner="alice")
    location = {key: str(value) for key, value in history_location.items()}
    script = KILLED_WRITER.format(root=str(ROOT), location=location,
                                  image=str(ROOT / "assets" / "samples" / "camera.png"))
    writer = subprocess.Popen([sys.executable, "-c", script], env=cli_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "inside the transaction"
    finally:
        writer.kill()
        writer.wait()
    reopened = HistoryStore(**history_location)
    assert [row.id for row in reopened.experiments.list("alice")] == [row.id for row in store.experiments.list("alice")]
    assert reopened.experiments.count("alice") == 1
    if reopened.path is not None:
        with sqlite3.connect(reopened.path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert images_count(reopened) == 5  # only the first experiment's images: nothing half-written
    reopened.experiments.add(records[1], owner="alice")  # and the store still takes writes (the writer's lock went with it)
    assert reopened.experiments.count("alice") == 2


def test_two_visitors_never_see_each_others_rows(store, records):
    alice = [store.experiments.add(record, owner="alice") for record in records[:2]]
    bob = store.experiments.add(records[2], owner="bob")
    assert {row.id for row in store.experiments.list("alice")} == set(alice)
    assert [row.id for row in store.experiments.list("bob")] == [bob]
    with pytest.raises(ICError, match="not in your history"):
        store.experiments.get(alice[0], "bob")
    assert store.experiments.list("bob", Filter(search="tripod")) and not store.experiments.list("carol", Filter(search="tripod"))
    with pytest.raises(ICError):
        store.transfer.export_zip([alice[0]], "bob")


def test_team_mode_shows_everyone_but_deletes_only_your_own(store, records):
    alice = store.experiments.add(records[0], owner="alice")
    bob = store.experiments.add(records[1], owner="bob")
    assert {row.id for row in store.experiments.list("bob", shared=True)} == {alice, bob}
    assert store.experiments.get(alice, "bob", shared=True).owner == "alice"
    assert store.experiments.delete(alice, "bob") is False
    assert store.experiments.annotate(alice, "bob", starred=True) is False
    assert store.clear("bob") == 1
    assert [row.id for row in store.experiments.list("bob", shared=True)] == [alice]


def test_filters(store, camera, lite0, records):
    store.experiments.add(records[0], owner="alice")
    [patchmatch] = make_records(camera, lite0, 1, inpainter="blur")
    store.experiments.add(patchmatch, owner="alice")
    assert [row.inpainter for row in store.experiments.list("alice", Filter(inpainters=("blur",)))] == ["blur"]
    assert len(store.experiments.list("alice", Filter(models=("tf_efficientnet_lite0",)))) == 2
    assert store.experiments.list("alice", Filter(models=("resnet50.a1_in1k",))) == []
    assert store.experiments.list("alice", Filter(search="no such label")) == []
    changed = store.experiments.list("alice", Filter(changed_only=True))
    assert all(row.top1_changed for row in changed)


def test_retention_keeps_the_newest_and_drops_the_old(store, records):
    ids = [store.experiments.add(record, owner="alice") for record in records]
    store.experiments.add(records[0], owner="bob")
    sql(store, "UPDATE experiments SET created_at = '2020-01-01T00:00:00+00:00' WHERE id = ?", (ids[0],))
    assert store.prune("alice", max_per_visitor=2) == 1
    assert {row.id for row in store.experiments.list("alice")} == set(ids[1:])
    assert store.experiments.count("bob") == 1
    sql(store, "UPDATE experiments SET created_at = '2020-01-01T00:00:00+00:00' WHERE owner = 'bob'")
    assert store.prune("alice", max_per_visitor=0, max_age_days=30) == 1
    assert store.experiments.count("bob") == 0


def test_export_then_import_gives_the_same_records(store, tmp_path, records):
    ids = [store.experiments.add(record, owner="alice") for record in records[:2]]
    store.experiments.annotate(ids[0], "alice", starred=True, note="see the legs")
    archive = store.transfer.export_zip(ids, "alice")
    other = HistoryStore(tmp_path / "other")
    imported = other.transfer.import_zip(archive, owner="carol")
    assert sorted(imported) == sorted(ids)
    for experiment_id in ids:
        mine, theirs = store.experiments.get(experiment_id, "alice"), other.experiments.get(experiment_id, "carol")
        assert {k: v for k, v in mine.row().items() if k != "owner"} == {k: v for k, v in theirs.row().items()
                                                                         if k != "owner"}
        assert mine.summary == theirs.summary
        for role in ("original", "edited", "mask"):
            assert np.array_equal(mine.images[role], theirs.images[role])
    again = other.transfer.import_zip(archive, owner="carol")  # importing twice adds nothing the second time
    assert again == [] and other.experiments.count("carol") == 2



def _with_meta(data: bytes, **changes) -> bytes:
    import json

    return json.dumps({**json.loads(data), **changes}).encode()


def _damaged_member(data: bytes) -> bytes:
    """The ZIP with bytes in the middle of its largest compressed member flipped (a bad download)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        member = max(archive.infolist(), key=lambda m: m.compress_size)
    start = member.header_offset + 30 + len(member.filename) + len(member.extra) + member.compress_size // 2
    damaged = bytearray(data)
    for i in range(start, start + 16):
        damaged[i] ^= 0xFF
    return bytes(damaged)


def test_an_imported_date_in_the_future_becomes_now_and_is_pruned_with_age(store, good_files, tmp_path):
    from datetime import datetime

    archive = zip_of({k: (_with_meta(v, created_at="9999-01-01T00:00:00+00:00") if k.endswith(".json") else v)
                      for k, v in good_files.items()})
    [added] = store.transfer.import_zip(archive, owner="alice")
    kept = datetime.fromisoformat(store.experiments.get(added, "alice").created_at)
    assert abs((kept - datetime.now(UTC)).total_seconds()) < 60


def test_search_is_literal(store, records):
    store.experiments.add(records[0], owner="alice")
    store.experiments.annotate(store.experiments.list("alice")[0].id, "alice", note="100% sure")
    store.experiments.add(records[1], owner="alice")
    assert len(store.experiments.list("alice", Filter(search="%"))) == 1  # not a wildcard matching both
    assert len(store.experiments.list("alice", Filter(search="100%"))) == 1
    assert len(store.experiments.list("alice", Filter(search="1_0"))) == 0


def test_an_import_keeps_the_retention_limit(store, records, tmp_path, monkeypatch):
    from ic.app import Workbench

    ids = [store.experiments.add(record, owner="alice") for record in records]
    monkeypatch.setenv("IC_HISTORY_MAX_PER_VISITOR", "1")
    bench = Workbench(tmp_path / "other")
    bench.history.changes.import_zip(store.transfer.export_zip(ids, "alice"), owner="carol")
    assert bench.history.store.experiments.count("carol") == 1


@pytest.fixture
def good_files(store, records):
    experiment_id = store.experiments.add(records[0], owner="alice")
    with zipfile.ZipFile(io.BytesIO(store.transfer.export_zip([experiment_id], "alice"))) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    store.clear("alice")
    return files


@pytest.mark.parametrize("damage, words", [
    (lambda files: b"not a zip at all", "not a ZIP"),
    (lambda files: zip_of({"x/experiment.json": b"{}", "x/original.png": b"\0" * (40 * 1024 * 1024),
                         "x/edited.png": b"", "x/mask.png": b""}), "ZIP bomb"),
    (lambda files: zip_of({**files, "../evil/experiment.json": b"{}"}), "outside its folders"),
    (lambda files: zip_of({**{k.replace(k.split('/')[0], '/abs'): v for k, v in files.items()}}), "outside its folders"),
    (lambda files: zip_of({k: (b"{not json" if k.endswith(".json") else v) for k, v in files.items()}), "not valid JSON"),
    (lambda files: zip_of({k: v for k, v in files.items() if not k.endswith("mask.png")}), "lacks"),
    (lambda files: zip_of({k: (b"GIF89a broken" if k.endswith("edited.png") else v) for k, v in files.items()}),
     "cannot be read"),
    (lambda files: zip_of({}), "no experiments"),
    (lambda files: _damaged_member(zip_of(files)), "is damaged"),
    (lambda files: zip_of({k: (_with_meta(v, created_at="garbage") if k.endswith(".json") else v)
                           for k, v in files.items()}), "not a date"),
    (lambda files: zip_of({f"{n}/{name}": (png_declaring(8000, 8000) if name.endswith(".png") else
                                           _with_meta(files[next(k for k in files if k.endswith(".json"))], id=str(n)))
                           for n in range(2) for name in ("experiment.json", "original.png", "edited.png", "mask.png")}),
     "at most 2048 a side"),
    (lambda files: zip_of({f"{n}/{name}": (png_declaring(2048, 2048) if name.endswith(".png") else
                                           _with_meta(files[next(k for k in files if k.endswith(".json"))], id=str(n)))
                           for n in range(21) for name in ("experiment.json", "original.png", "edited.png", "mask.png")}),
     "megapixels in all"),
], ids=["not-zip", "bomb", "dotdot", "absolute", "bad-json", "missing-image", "bad-image", "empty", "damaged-member",
        "bad-date", "too-large-image", "too-many-pixels"])
def test_unsafe_or_broken_imports_are_refused_and_change_nothing(store, good_files, damage, words, records):
    store.experiments.add(records[1], owner="alice")
    before = [row.row() for row in store.experiments.list("alice")]
    with pytest.raises(ICError) as caught:
        store.transfer.import_zip(damage(good_files), owner="alice")
    assert words in str(caught.value)
    assert [row.row() for row in store.experiments.list("alice")] == before


def test_an_unwritable_data_folder_is_a_sentence(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ICError, match="IC_DATA_DIR"):
        HistoryStore(blocker / "data")


def test_maps_are_kept_with_their_experiment_exported_and_deleted_with_it(store, tmp_path, records):
    experiment_id = store.experiments.add(records[0], owner="alice")
    cells = np.linspace(0, 1, 16).reshape(4, 4)
    assert store.experiments.add_explanation(experiment_id, "alice", image="original", method="occlusion", class_index=872,
                                 label="tripod", cells=cells, details={"iou": 0.4, "deletion_area": 0.3, "grid": 4})
    assert not store.experiments.add_explanation(experiment_id, "bob", image="original", method="gradcam", class_index=872,
                                     label="tripod", cells=cells)  # not bob's experiment
    [kept] = store.experiments.explanations(experiment_id, "alice")
    assert kept["method"] == "occlusion" and np.allclose(kept["cells"], cells, atol=1e-4)
    assert kept["details"]["iou"] == 0.4
    assert store.experiments.explanations(experiment_id, "bob") == []
    assert len(store.experiments.explanations(experiment_id, "bob", shared=True)) == 1

    other = HistoryStore(tmp_path / "other")
    [copied] = other.transfer.import_zip(store.transfer.export_zip([experiment_id], "alice"), owner="carol")
    assert other.experiments.explanations(copied, "carol")[0]["cells"] == kept["cells"]

    store.experiments.delete(experiment_id, "alice")
    assert sql(store, "SELECT COUNT(*) FROM explanations")[0][0] == 0


def test_a_shared_link_goes_with_its_experiment(store, records):
    experiment_id = store.experiments.add(records[0], owner="alice")
    with pytest.raises(ICError, match="Only the author"):
        store.shares.create(experiment_id, "bob")
    token = store.shares.create(experiment_id, "alice")
    experiment, _ = store.shares.open(token)
    assert experiment.id == experiment_id and store.shares.tokens(experiment_id, "alice") == [token]
    assert not store.shares.revoke(token, "bob")  # only the owner revokes
    store.prune("alice", max_per_visitor=0, max_age_days=0)
    store.experiments.delete(experiment_id, "alice")  # deleted (or pruned by retention): the link opens nothing
    with pytest.raises(ICError, match="revoked"):
        store.shares.open(token)


def test_the_table_definitions_match_the_schema_the_migrations_make(store):
    """ic/history/tables.py defines each table once for the INSERTs and copies; the migrations make the schema.
    The two agree, column for column, on SQLite and PostgreSQL (where a `rowid` column, numbered by the
    database, stands in for SQLite's own: never written, never copied)."""
    import sqlalchemy

    from ic.history import tables

    made = sqlalchemy.inspect(store.db.engine)
    for table in tables.metadata.sorted_tables:
        columns = [column["name"] for column in made.get_columns(table.name) if column["name"] != "rowid"]
        assert columns == tables.names(table), table.name
        assert made.get_pk_constraint(table.name)["constrained_columns"] == [c.name for c in table.primary_key], table.name


def test_an_export_whose_experiments_have_no_id_imports_once(store, good_files):
    """A hand-made or older ZIP without ids: imported (it said "Nothing new" and imported nothing), and a second
    import finds it there."""
    import json

    files = {name: (json.dumps({k: v for k, v in json.loads(data).items() if k != "id"}).encode()
                    if name.endswith("experiment.json") else data) for name, data in good_files.items()}
    archive = zip_of(files)
    assert len(store.transfer.import_zip(archive, owner="alice")) == 1
    assert store.transfer.import_zip(archive, owner="alice") == []
    assert store.experiments.count("alice") == 1


def test_copying_a_history_onto_itself_under_another_spelling_is_refused(records, tmp_path):
    """`history copy --from src --to t1/../src` named the same history and copied 0, exit 0: now it is refused."""
    from ic.history import HistoryStore

    from conftest import ROOT, cli_env

    HistoryStore(tmp_path / "src").experiments.add(records[0], owner="alice")
    done = subprocess.run([sys.executable, "-m", "ic", "history", "copy", "--from", str(tmp_path / "src"), "--to",
                           str(tmp_path / "t1" / ".." / "src")], cwd=ROOT, env=cli_env(), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 2 and "the same history" in done.stderr, (done.returncode, done.stderr[-1000:])
