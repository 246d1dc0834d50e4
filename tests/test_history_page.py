"""The History page through AppTest, with a store seeded with real experiments."""


import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ic.experiment import EditSession
from ic.history import open_store
from ic.inpaint import get_inpainter

from conftest import open_page

ALICE, BOB = "a" * 32, "b" * 32


@pytest.fixture(scope="module")
def records(camera, lite0):
    session = EditSession(camera, "camera.png")
    tripod = np.zeros(session.shape, bool)
    tripod[200:500, 280:306] = True
    corner = np.zeros(session.shape, bool)
    corner[10:60, 440:500] = True
    return [session.apply(tripod, get_inpainter("telea"), lite0), session.apply(corner, get_inpainter("blur"), lite0)]


@pytest.fixture
def store(records):
    history = open_store()  # IC_DATA_DIR: this test's own folder
    for record in records:
        history.experiments.add(record, owner=ALICE)
    history.experiments.add(records[0], owner=BOB)
    return history


def open_history(visitor: str) -> AppTest:
    app = open_page("history", timeout=120, visitor=visitor)
    assert not app.exception
    return app


def shown_title(app: AppTest) -> str | None:
    """The heading of the experiment shown (its image name and time), or None when none is."""
    return next((h.value for h in app.header if not h.value.startswith("Sweeps")), None)


def select(app: AppTest, *rows: int) -> AppTest:
    app.session_state["history-table"] = {"selection": {"rows": list(rows), "columns": [], "cells": []}}
    return app.run()


def test_lists_only_the_visitors_own_experiments(store):
    app = open_history(ALICE)
    frame = app.dataframe[0].value
    assert len(frame) == 2
    assert set(frame["inpainter"]) == {"OpenCV Telea", "Gaussian blur"}  # by name, as every page names them
    assert frame["before"].str.startswith("data:image/png;base64,").all()
    assert "by" not in frame.columns
    assert len(open_history(BOB).dataframe[0].value) == 1
    stranger = open_history("c" * 32)
    assert not stranger.dataframe and any("No experiments yet" in i.value for i in stranger.info)


def test_filters_narrow_the_table(store):
    app = open_history(ALICE)
    inpainter = next(m for m in app.multiselect if m.label == "Inpainter")
    inpainter.set_value(["blur"]).run()
    assert list(app.dataframe[0].value["inpainter"]) == ["Gaussian blur"]
    inpainter.set_value([]).run()
    next(t for t in app.text_input if t.label.startswith("Search")).set_value("no such class").run()
    assert len(app.dataframe[0].value) == 0


def test_detail_shows_images_and_the_full_table_and_takes_stars_and_notes(store):
    app = select(open_history(ALICE), 0)
    assert any(h.value.startswith("camera.png") for h in app.header)  # the experiment's heading
    captions = [caption for image in app.get("image") for caption in image.captions]
    assert {"Original", "Removed region", "Edited"} <= set(captions)
    changes = app.table[0].value
    assert "tripod" in set(changes["class"])
    app.toggle(key=f"star-{store.experiments.list(ALICE)[0].id}").set_value(True).run()
    newest = store.experiments.list(ALICE)[0]
    assert newest.starred
    app.text_input(key=f"note-{newest.id}").set_value("the pole matters").run()
    assert store.experiments.list(ALICE)[0].note == "the pole matters"


def test_rerun_with_another_classifier_adds_a_row(store):
    app = select(open_history(ALICE), 0)
    app.selectbox(key="rerun-model").set_value("tf_efficientnet_lite1").run()
    next(b for b in app.button if b.label == "Re-run with").click().run()
    assert not app.exception
    assert any("tf_efficientnet_lite1" in s.value for s in app.success)
    models = [row.model for row in store.experiments.list(ALICE)]
    assert models.count("tf_efficientnet_lite1") == 1 and len(models) == 3


def _button(app, label: str):
    return next(b for b in app.button if b.label == label)


def test_delete_asks_first_and_the_selection_never_jumps_to_another_experiment(store):
    app = select(open_history(ALICE), 0)
    first, second = [row.id for row in store.experiments.list(ALICE)]
    shown = shown_title(app)
    _button(app, "Delete…").click().run()
    assert store.experiments.count(ALICE) == 2 and any("for good?" in w.value for w in app.warning)  # asked, not done
    _button(app, "Keep it").click().run()
    assert store.experiments.count(ALICE) == 2 and shown_title(app) == shown
    _button(app, "Re-run with").click().run()  # a new row on top: the detail stays on the same experiment
    assert store.experiments.count(ALICE) == 3 and shown_title(app) == shown
    assert {row.id for row in store.experiments.list(ALICE)} >= {first, second}
    _button(app, "Delete…").click().run()
    _button(app, "Delete it").click().run()
    assert first not in {row.id for row in store.experiments.list(ALICE)} and second in {row.id for row in store.experiments.list(ALICE)}
    assert shown_title(app) is None  # nothing selected now: not the next experiment in its place
    assert not [b for b in app.button if b.label == "Delete…"]


def test_delete_one_and_clear_all_touch_only_your_own(store):
    app = select(open_history(ALICE), 0)
    _button(app, "Delete…").click().run()
    _button(app, "Delete it").click().run()
    assert store.experiments.count(ALICE) == 1 and store.experiments.count(BOB) == 1
    app = open_history(ALICE)
    next(b for b in app.button if b.label.startswith("Clear my history")).click().run()
    next(b for b in app.button if b.label == "Delete them all").click().run()
    assert store.experiments.count(ALICE) == 0 and store.experiments.count(BOB) == 1


def test_continue_in_explore_resumes_the_edit(store, records):
    app = select(open_history(ALICE), 0)  # newest first: the corner removal, on top of the tripod one
    next(b for b in app.button if b.label == "Continue in Explore").click().run()
    assert not app.exception
    edit = app.session_state["desk"].edit
    assert edit.removals == 1 and edit.can_undo
    assert np.array_equal(edit.edited, records[1].edited)
    assert np.array_equal(edit.mask, records[1].mask)


def test_import_a_zip_from_the_page(store, tmp_path):
    archive = store.transfer.export_zip([row.id for row in store.experiments.list(ALICE)], ALICE)
    app = open_history("d" * 32)
    app.file_uploader(key="import-zip").upload("experiments.zip", archive, "application/zip").run()
    next(b for b in app.button if b.label == "Import").click().run()
    assert any("Imported 2" in s.value for s in app.success)
    assert len(app.dataframe[0].value) == 2
    next(b for b in app.button if b.label == "Import").click().run()  # the same ZIP again
    assert any("Nothing new" in s.value for s in app.success)
    assert len(app.dataframe[0].value) == 2 and store.experiments.count(ALICE) == 2


def test_a_broken_zip_is_refused_with_a_sentence(store):
    app = open_history(ALICE)
    app.file_uploader(key="import-zip").upload("x.zip", b"PK not really", "application/zip").run()
    next(b for b in app.button if b.label == "Import").click().run()
    assert any("not a ZIP" in e.value for e in app.error)
    assert store.experiments.count(ALICE) == 2


def test_team_mode_lists_everyone_and_locks_others_rows(store, monkeypatch):
    monkeypatch.setenv("IC_HISTORY_MODE", "team")
    app = open_history(BOB)
    frame = app.dataframe[0].value
    assert len(frame) == 3 and set(frame["by"]) == {"you", f"teammate {ALICE[:6]}"}
    theirs = list(frame["by"]).index(f"teammate {ALICE[:6]}")
    select(app, theirs)
    assert next(b for b in app.button if b.label == "Delete…").disabled


def test_unwritable_data_folder_is_a_sentence_on_both_pages(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("IC_DATA_DIR", str(blocker / "data"))
    app = open_page(timeout=120)
    assert not app.exception
    assert any("IC_DATA_DIR" in w.value for w in app.sidebar.warning)
    assert app.table  # Explore still works
    app.switch_page("app_pages/history.py").run()
    assert any("IC_DATA_DIR" in e.value for e in app.error)


def test_maps_computed_in_explore_are_kept_and_shown_in_history(store):
    app = select(open_history(ALICE), 0)
    next(b for b in app.button if b.label == "Continue in Explore").click().run()
    # AppTest follows st.switch_page for one run only; the second run is the one the canvas's size report starts
    app.switch_page("app_pages/explore.py").run()
    app.multiselect(key="explain-methods").set_value(["gradcam"]).run()
    app.toggle(key="explain-rise").set_value(True).run()  # RISE's definition too, each AUC named
    next(b for b in app.button if b.label == "Compute maps").click().run()
    assert not app.exception and not app.error
    assert any("deletion AUC (cells)" in c.value and "insertion AUC (cells)" in c.value and "placements)" in c.value
               and "p = " in c.value and "RISE's deletion AUC" in c.value for c in app.caption)
    # every map has its legend; the pair is on one scale unless asked otherwise, and says which
    assert sum("one scale for both images" in c.value for c in app.caption) == 2
    app.segmented_control(key="explain-scale").set_value("own").run()
    assert sum("this map's own scale" in c.value for c in app.caption) == 2
    newest = store.experiments.list(ALICE)[0]
    kept = store.experiments.explanations(newest.id, ALICE)
    assert {item["image"] for item in kept} == {"original", "edited"} and kept[0]["method"] == "gradcam"
    assert kept[0]["details"]["format"] == 2 and 0 < kept[0]["details"]["prob"] <= 1
    assert all(0 <= item["details"]["raw_range"][0] < item["details"]["raw_range"][1] for item in kept)  # CAM units
    # a map kept before signed occlusion maps (format 1: cells scaled to 0..1) still reads, on its old scale
    store.experiments.add_explanation(newest.id, ALICE, image="original", method="occlusion", class_index=1, label="old",
                          cells=np.eye(4), details={"deletion_area": 0.25})
    # and one kept before IoU's p-value: its chance line, no p
    store.experiments.add_explanation(newest.id, ALICE, image="original", method="gradcam", class_index=1, label="older",
                          cells=np.eye(4), details={"iou": 0.3, "iou_chance": 0.05, "deletion_auc": 0.2})
    app.switch_page("app_pages/history.py").run()
    select(app, 0)
    assert not app.exception
    assert any(e.label.startswith("Maps kept with this experiment") for e in app.expander)
    assert any("deletion area 0.250" in c.value for c in app.caption)
    assert sum("one scale for both images" in c.value for c in app.caption) == 2  # the kept pair, as on Explore
    assert any("this map's own scale" in c.value for c in app.caption)  # the old single maps
    assert any("IoU with your removal 0.30 (random region: 0.05)" in c.value for c in app.caption)
    kept = store.experiments.explanations(newest.id, ALICE)[0]["details"]  # the page kept the map's p with it
    assert 0 < kept["iou_p"] <= 1 and kept["iou_placements"] > 1000
    assert kept["auc_definition"] == "cells" and 0 <= kept["rise_insertion_auc"] <= 1


def test_compare_from_a_history_row(store):
    app = select(open_history(ALICE), 0)
    next(b for b in app.button if b.label == "Compare…").click().run()
    app.switch_page("app_pages/compare.py").run()
    assert not app.exception
    assert any("an experiment from History" in c.value for c in app.caption)


def test_public_mode_holds_on_history_and_compare(store, monkeypatch):
    """The allow-list and the busy limit apply to History's re-run and to Compare, not only to Explore."""
    from ic import compute
    from ic.app import get_workbench
    from ic.errors import ICError

    monkeypatch.setenv("IC_PUBLIC", "1")
    bundled = {"EfficientNet-Lite0", "EfficientNet-Lite1", "EfficientNet-Lite2"}  # the box shows names
    app = select(open_history(ALICE), 0)
    assert set(app.selectbox(key="rerun-model").options) < bundled  # no hub names, no local files
    with pytest.raises(ICError, match="public demo offers only"):  # a hub name forced past the page
        get_workbench().policy.classifier("resnet50.a1_in1k")

    monkeypatch.setenv("IC_PUBLIC_MAX_QUEUE", "1")
    monkeypatch.setattr(compute, "queued", lambda: 3)
    next(b for b in app.button if b.label == "Re-run with").click().run()
    assert any("busy with other visitors" in e.value for e in app.error)
    assert open_store().experiments.count(ALICE) == 2  # nothing added

    next(b for b in app.button if b.label == "Compare…").click().run()  # hands the edit to Compare
    app.switch_page("app_pages/compare.py").run()
    assert not app.exception
    options = app.multiselect(key="compare-models").options
    assert sorted(options) == ["EfficientNet-Lite0", "EfficientNet-Lite1", "EfficientNet-Lite2"]  # the bundled ones alone
    next(b for b in app.button if b.label == "Compare").click().run()
    assert any("busy with other visitors" in e.value for e in app.error)
    assert open_store().experiments.count(ALICE) == 2


def test_a_long_note_is_cut_once_with_a_sentence_and_the_page_settles(store):
    from ic.history.store import MAX_NOTE

    app = select(open_history(ALICE), 0)
    newest = store.experiments.list(ALICE)[0]
    app.text_input(key=f"note-{newest.id}").set_value("x" * (MAX_NOTE + 500)).run()
    assert not app.exception
    assert store.experiments.list(ALICE)[0].note == "x" * MAX_NOTE  # cut once (the box itself stops at the limit)
    app.run()  # no write, and no rerun without end, once the note is saved
    assert store.experiments.list(ALICE)[0].note == "x" * MAX_NOTE


def test_an_imported_zip_with_a_bad_date_is_refused_and_the_page_keeps_working(store):
    import io
    import json
    import zipfile

    archive = store.transfer.export_zip([row.id for row in store.experiments.list(ALICE)], ALICE)
    with zipfile.ZipFile(io.BytesIO(archive)) as source:
        files = {name: source.read(name) for name in source.namelist()}
    files = {name: (json.dumps({**json.loads(data), "created_at": "garbage"}).encode() if name.endswith(".json")
                    else data) for name, data in files.items()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name, data in files.items():
            target.writestr(name, data)
    app = open_history("d" * 32)
    app.file_uploader(key="import-zip").upload("bad.zip", buffer.getvalue(), "application/zip").run()
    next(b for b in app.button if b.label == "Import").click().run()
    assert not app.exception and any("not a date" in e.value for e in app.error)
    assert store.experiments.count("d" * 32) == 0
    assert not open_history("d" * 32).exception


def test_csv_exports_neutralise_formulas_and_keep_numbers():
    import pandas as pd

    from ic.exports import csv_text

    text = csv_text(pd.DataFrame({"image": ["=HYPERLINK(1)", "@x", "+1+1", "plain", "-3.2"], "p": [1.0, -2, 3, 4, 5]}))
    lines = text.splitlines()
    assert lines[1].startswith("'=HYPERLINK") and lines[2].startswith("'@x") and lines[3].startswith("'+1+1")
    assert lines[4].startswith("plain,") and lines[5].startswith("-3.2,") and ",-2.0" in lines[2]


def test_two_selected_experiments_show_side_by_side(store):
    app = select(open_history(ALICE), 0, 1)
    assert not app.exception and not app.error
    assert len(app.table) == 2  # both before/after tables
    assert len([m for m in app.markdown if m.value.startswith("**camera.png")]) == 2  # both titles
    assert not [b for b in app.button if b.label == "Delete…"]  # a comparison, not a place to act


def test_a_shared_link_shows_one_experiment_read_only_until_revoked(store):
    app = select(open_history(ALICE), 0)
    shown = shown_title(app)
    next(b for b in app.button if b.label == "Create a link").click().run()
    [link] = [c.value for c in app.code if "?share=" in c.value]
    assert any(e.label == "Share a read-only link (1 active)" for e in app.expander)  # counted once made
    token = link.split("?share=")[1]
    assert len(token) >= 32 and ALICE not in link  # 192 random bits, and not the visitor key

    stranger = open_page("history", timeout=120, share=token)  # the app, as the link opens it
    assert not stranger.exception and not stranger.error
    assert shown_title(stranger) == shown and len(stranger.table) == 1
    # the answer first, in one sentence (the shared page had no headline verdict)
    said = [e.value for e in [*stranger.success, *stranger.warning] if "Top-1" in e.value]
    assert len(said) == 1 and "EfficientNet-Lite0" in said[0] and "of the photo removed with" in said[0], said
    assert not stranger.dataframe  # nothing else of the owner's history
    assert not [b for b in stranger.button if b.label in ("Delete…", "Re-run with", "Create a link")]

    next(b for b in app.button if b.label == "Revoke").click().run()
    stranger.run()
    assert any("revoked" in e.value for e in stranger.error) and not stranger.table
