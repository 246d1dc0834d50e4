"""Sweeps and the command line under what a stranger sends (#24): damaged and unreadable members, huge CSV fields,
markdown and formulas in names, crafted Parquet to resume from, links out of the server's folder, odd folder
names, two Run presses at once, duplicate photos, out-of-range arguments. Each through the CLI, the page or the
workbench the page calls, asserting the sentence, the exit code and that nothing was written."""

import csv
import io
import json
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from builders import build_dataset, ellipse
from test_imports_hostile import patched

from ic.app import Source, Workbench
from ic.errors import ICError
from ic.images import decode_image, encode_png

from conftest import ROOT, cli_env, open_page

MODEL = "tf_efficientnet_lite0"


def ic(*args, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ic", *map(str, args)], cwd=ROOT, env=cli_env(**env),
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return build_dataset(tmp_path_factory.mktemp("hostile-sweep") / "set")


def zip_from(folder: Path, keep=("coffee", "chelsea"), extra: dict | None = None) -> bytes:
    """A ZIP of the dataset's photos named in `keep` (with their masks), plus `extra` members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.stem.removesuffix("_mask") in keep:
                archive.write(path, path.relative_to(folder).as_posix())
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def csv_of(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def damaged_crc(data: bytes, member: str) -> bytes:
    """The ZIP with one byte of `member`'s stored data flipped: its CRC no longer matches."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(member)
    data = bytearray(data)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    return bytes(data)


def test_unreadable_and_damaged_members_and_a_huge_labels_field_are_skipped_with_their_reasons(dataset, tmp_path):
    plain = zip_from(dataset, keep=("coffee", "chelsea", "rocket", "astronaut", "camera"),
                     extra={"labels.csv": "image,label\n" + "x" * 200_000 + ",tabby\ncoffee.png,espresso\n"})
    data = damaged_crc(plain, "chelsea.png")
    data = patched(data, "rocket.png", flag=0x1)
    data = patched(data, "astronaut.png", flag=0x1, method=99)
    data = patched(data, "masks/camera.png" if b"masks/camera.png" in data else "camera_mask.png", method=9)
    (tmp_path / "hostile.zip").write_bytes(data)
    done = ic("sweep", tmp_path / "hostile.zip", "--models", MODEL, "--inpainters", "blur", "--json")
    assert done.returncode == 0, done.stderr  # the one sound photo is swept; every other one says why not
    document = json.loads(done.stdout)
    reasons = {entry["file"]: entry["reason"] for entry in document["skipped"]}
    assert "is damaged" in reasons["chelsea.png"]
    assert "is encrypted (it has a password)" in reasons["rocket.png"]
    assert "is encrypted with AES" in reasons["astronaut.png"]
    assert "compressed with Deflate64" in reasons["camera.png"]
    assert any("field larger than field limit" in reason for file, reason in reasons.items() if "labels.csv" in file)
    assert document["images"] == 1 and document["summary"][0]["n"] == 1


def test_five_thousand_and_one_pairs_are_refused_before_any_member_is_read(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for n in range(5001):
            archive.writestr(f"p{n}.png", b"")
            archive.writestr(f"p{n}_mask.png", b"")
    (tmp_path / "many.zip").write_bytes(buffer.getvalue())
    done = ic("sweep", tmp_path / "many.zip", "--models", MODEL, "--out", tmp_path / "out.parquet")
    assert done.returncode == 2 and "holds 5001 images; a sweep takes at most 5000" in done.stderr, done.stderr
    assert not (tmp_path / "out.parquet").exists()


def test_names_stay_plain_text_on_the_page_and_formulas_are_neutral_in_every_csv(dataset, tmp_path):
    formula = "=HYPERLINK(\"http://e.invalid\",\"x\")"
    evil = "[click](e.invalid) **bold**"
    chelsea = (dataset / "chelsea.png").read_bytes()  # another photo: the same one twice is swept once
    shape = decode_image(chelsea).shape[:2]
    extra = {f"{evil}.png": chelsea, f"{evil}_mask.png": encode_png(ellipse(shape, 0.9)),
             "labels.csv": csv_of([["image", "label"], [f"{evil}.png", "@SUM(1+1)"], ["coffee.png", formula]])}
    data = zip_from(dataset, keep=("coffee",), extra=extra)
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "set.zip").write_bytes(data)
    done = ic("sweep", folder / "set.zip", "--models", MODEL, "--inpainters", "blur", "--out", folder / "results.parquet")
    assert done.returncode == 0, done.stderr
    cells = [cell for row in csv.reader(io.StringIO((folder / "results.csv").read_text())) for cell in row]
    assert "'" + formula in cells and "'@SUM(1+1)" in cells  # the CLI's CSV
    assert not any(cell.startswith(("=", "@")) for cell in cells)

    app = open_page("sweeps", timeout=180, visitor="e" * 32)
    app.file_uploader(key="sweep-zip").upload(f"{evil}.zip", data, "application/zip").run()
    app.multiselect(key="sweep-models").set_value([MODEL]).run()
    app.multiselect(key="sweep-inpainters").set_value(["mean"]).run()
    next(b for b in app.button if b.label == "Run the sweep").click().run()
    from test_sweeps_page import texts

    for _ in range(240):
        if "Last sweep" in texts(app):
            break
        threading.Event().wait(0.5)
        app.run()
    assert not app.exception, app.exception
    [heading] = [h.value for h in app.header if "Last sweep" in h.value]
    assert "](" not in heading.replace("\\]", "").replace("\\(", "") and "\\[click\\]" in heading  # escaped, no link
    captions = [caption for image in app.image for caption in image.captions if "click" in caption]
    assert captions and all("\\[click\\]" in c and "\\*\\*bold" in c for c in captions), captions
    from ic.app import get_workbench

    bench = get_workbench()  # the page's own: its download button offers this job's files
    for offered in (bench.jobs.sweep_job("e" * 32).files()["csv"].decode(),
                    sweeps_csv_of_history(bench, "e" * 32)):  # the page's download, then History's
        assert "'" + formula.replace('"', '""') in offered and "'@SUM(1+1)" in offered
        assert not any(cell.startswith(("=", "@")) for row in csv.reader(io.StringIO(offered)) for cell in row)


def sweeps_csv_of_history(bench, visitor: str) -> str:
    """What History's "Rows as CSV" offers for the visitor's latest kept sweep."""
    from ic import sweeps

    bench.history.saving.flush(30)
    [kept] = bench.history.store.sweeps.list(visitor)[:1]
    return sweeps.csv_bytes(sweeps.rows_from_parquet(bench.history.store.sweeps.get(kept.id, visitor).rows)).decode()


@pytest.mark.parametrize("column, value, words", [
    ("seed", ["x"], "column seed holds string"),
    ("drop", ["a lot"], "column drop holds string"),
    ("image_sha", [{"a": 1}], "column image_sha holds struct"),
    ("model", [None], "column model has empty cells"),
    ("changed", [None], "column changed has empty cells"),  # the summary read it as a flip (TypeError, exit 1)
    ("drop", [None], "column drop has empty cells"),
])
def test_a_crafted_parquet_is_refused_before_resuming_and_left_as_it_was(dataset, tmp_path, column, value, words):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ic.sweeps.results import COLUMNS

    row = {name: "x" for name in COLUMNS}  # a sweep's row, its types as a sweep writes them
    row.update({"seed": 0, "top1_before_index": 1, "top1_after_index": 2, "top1_before_prob": 0.9,
                "top1_after_prob": 0.5, "changed": True, "drop": 0.1, "expected_index": 1, "match_before": True,
                "match_after": False, "flip_share": 0.2, "object_share": 0.3, "seconds": 1.0, "model": MODEL,
                "crowd": False})
    row[column] = value[0]
    out = tmp_path / "crafted.parquet"
    pq.write_table(pa.Table.from_pylist([row]), out)
    before = out.read_bytes()
    done = ic("sweep", dataset, "--models", MODEL, "--inpainters", "blur", "--out", out)
    assert done.returncode == 2 and words in done.stderr and "not a sweep's results" in done.stderr, done.stderr
    assert out.read_bytes() == before


def test_links_out_of_the_servers_folder_and_odd_folder_names(tmp_path, monkeypatch):
    outside = tmp_path / "private"
    outside.mkdir()
    secret = np.zeros((64, 64, 3), np.uint8)
    secret[:, :, 0] = 200
    (outside / "secret.png").write_bytes(encode_png(secret))
    (outside / "labels.csv").write_text("image,label\ncoffee.png,leaked\n")
    root = tmp_path / "datasets"
    folder = build_dataset(root / "set")
    (folder / "labels.csv").unlink()
    (folder / "labels.csv").symlink_to(outside / "labels.csv")
    (folder / "secret.png").symlink_to(outside / "secret.png")
    (folder / "secret_mask.png").write_bytes(encode_png(ellipse((64, 64))))
    monkeypatch.setenv("IC_SWEEP_ROOT", str(root))
    monkeypatch.setenv("IC_HISTORY_MODE", "team")
    bench = Workbench(tmp_path / "data")
    for name, words in (("a\0b", "no NUL"), ("x" * 5000, "at most 255 characters")):
        with pytest.raises(ICError, match=words):
            bench.jobs.start_sweep("alice", source=Source("x", folder=name), models=[MODEL], inpainters=["blur"])
    job = bench.jobs.start_sweep("alice", source=Source("set", folder="set"), models=[MODEL], inpainters=["blur"])
    job.thread.join(300)
    assert job.result is not None, job.problem
    reasons = {entry["file"]: entry["reason"] for entry in job.result.skipped}
    assert "outside the dataset's folder" in reasons["secret.png"]
    assert "secret.png" not in {row["image"] for row in job.result.rows}
    assert "leaked" not in {row["expected_label"] for row in job.result.rows}  # the linked labels were not read


def test_two_run_presses_at_once_start_one_sweep(dataset, tmp_path, monkeypatch):
    from ic import sweeps

    bench = Workbench(tmp_path / "data")
    data = zip_from(dataset)
    reading, go_on = threading.Event(), threading.Event()
    real = sweeps.load_zip

    def slow(*args, **kwargs):
        reading.set()
        go_on.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(sweeps, "load_zip", slow)
    started, refused = [], []
    first = threading.Thread(target=lambda: started.append(
        bench.jobs.start_sweep("alice", source=Source("a", data), models=[MODEL], inpainters=["blur"])))
    first.start()
    assert reading.wait(60)
    try:
        bench.jobs.start_sweep("alice", source=Source("b", data), models=[MODEL], inpainters=["blur"])
    except ICError as exc:
        refused.append(str(exc))
    go_on.set()
    first.join(60)
    assert refused and "still running" in refused[0] and len(started) == 1
    started[0].thread.join(300)
    assert bench.jobs.sweep_job("alice") is started[0]  # Cancel reaches the one that runs


def test_duplicate_photos_are_swept_once_and_progress_never_names_none(dataset, tmp_path):
    mask_path = next(p for p in (dataset / "coffee_mask.png", dataset / "masks" / "coffee.png") if p.exists())
    coffee, mask = (dataset / "coffee.png").read_bytes(), mask_path.read_bytes()
    data = zip_from(dataset, keep=("coffee",), extra={"again/coffee.png": coffee, "again/coffee_mask.png": mask})
    bench = Workbench(tmp_path / "data")
    messages = []
    job = bench.jobs.start_sweep("alice", source=Source("dup", data), models=[MODEL], inpainters=["blur"])
    while job.running:
        messages.append(job.message)
        threading.Event().wait(0.05)
    assert job.result is not None, job.problem
    assert len(job.result.rows) == 1 and job.total == 1 and job.done == 1  # "88 of 80 rows" before
    assert {entry["file"]: entry["reason"] for entry in job.result.skipped}["coffee.png"].startswith("the same photo as")
    assert not any("None" in message for message in messages)


@pytest.mark.parametrize("args, words", [
    (("explain", "IMAGE", "--grid", "100000"), "The grid must be 4 to 16 cells a side (got 100000)"),
    (("explain", "IMAGE", "--grid", "-4"), "The grid must be 4 to 16 cells a side (got -4)"),
    (("sweep", "DATASET", "--models", MODEL, "--labels", "DATASET"), "is a folder; give a CSV file"),
    (("sweep", "DATASET", "--models", MODEL, "--labels", "/dev/zero"), "not a regular file (a device or a pipe)"),
    (("sweep", "DATASET", "--models", MODEL, "--seed", str(2**70)), "--seed must be from 0 to 2**63 - 1"),
    (("edit", "IMAGE", "--mask", "IMAGE", "--seed", "-1"), "--seed must be from 0 to 2**63 - 1"),
    (("sweep", "DATASET", "--models", MODEL, "--workers", "0"), "--workers must be at least 1"),
], ids=["grid-huge", "grid-negative", "labels-folder", "labels-device", "seed-huge", "seed-negative", "workers-zero"])
def test_out_of_range_arguments_exit_2_with_a_sentence_before_any_work(dataset, tmp_path, args, words):
    image = ROOT / "assets" / "samples" / "camera.png"
    args = [str(image) if a == "IMAGE" else str(dataset) if a == "DATASET" else a for a in args]
    done = ic(*args, "--out", tmp_path / ("out.parquet" if args[0] == "sweep" else "out.png"))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and words in done.stderr and "Traceback" not in done.stderr
    assert "sweep:" not in done.stderr  # refused before the first row
    assert not list(tmp_path.iterdir())


def test_a_visitor_id_followed_by_a_newline_is_not_taken_as_one():
    app = open_page(timeout=120, visitor="a" * 32 + "\n")
    assert not app.exception
    assert app.session_state["visitor"] != "a" * 32 + "\n" and len(app.session_state["visitor"]) == 32


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_history_file_deleted_or_replaced_while_the_server_runs_is_noticed_and_the_pages_keep_working(how, tmp_path):
    from ic.app import get_workbench
    from ic.history import HistoryStore
    from ic.paths import data_dir

    from test_public_and_faults import paint
    from test_saving import stroke

    visitor = "f" * 32
    app = open_page(timeout=180, visitor=visitor)
    paint(app, stroke("left"))
    folder = data_dir()
    assert HistoryStore(folder).experiments.count(visitor) == 1
    for path in folder.glob("history.sqlite3*"):
        path.unlink()
    if how == "replaced":  # a restore from backup: another history, with one experiment of its own
        other = tmp_path / "backup"
        HistoryStore(other)
        (other / "history.sqlite3").rename(folder / "history.sqlite3")

    paint(app, stroke("left") | stroke("right"))
    assert not app.exception and not app.error, [e.value for e in app.error]
    app.run()  # the next run's sidebar says what the save found
    [notice] = [i.value for i in app.sidebar.info if "history database" in i.value]
    assert f"was {how} while this server ran" in notice
    assert HistoryStore(folder).experiments.count(visitor) == 1  # the new removal is kept in the file there now
    assert not any("could not be saved" in w.value for w in app.warning)

    fresh = open_page(timeout=180, visitor="0" * 32)
    assert not fresh.exception and not [e.value for e in fresh.error]
    again = open_page(timeout=180, run=False)  # F5: the edit comes back whole
    again.query_params["visitor"] = visitor
    again.run()
    assert not again.exception and again.session_state["desk"].edit.removals == 2
    app.switch_page("app_pages/history.py").run()
    assert not app.exception and not app.error
    assert get_workbench().history.store.experiments.count(visitor) == 1
