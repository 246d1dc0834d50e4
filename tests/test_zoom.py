"""Zoom: paint on an enlarged part of the photo; the removal lands where it was painted, at working resolution."""

import numpy as np
import pytest

from conftest import ROOT, open_page
from test_public_and_faults import paint


def test_a_stroke_painted_zoomed_in_is_removed_where_it_was_painted():
    app = open_page(timeout=120, visitor="e" * 32)
    app.sidebar.button(key="sample-camera.png").click().run()
    app.segmented_control(key="zoom").set_value(2).run()
    app.slider(key="pan-x").set_value(25).run()  # the left half's centre: the part shown is x 0..256, y 128..384
    desk = app.session_state["desk"]
    assert desk.view_box() == (128, 0, 384, 256)
    stroke = np.zeros((256, 256), bool)  # the canvas holds the part shown, at its own size
    stroke[100:140, 200:240] = True
    paint(app, stroke)
    assert not app.exception and app.session_state["desk"].edit.removals == 1
    removed = app.session_state["desk"].edit.mask
    expected = np.zeros((512, 512), bool)
    expected[228:268, 200:240] = True
    assert (removed & expected).sum() / (removed | expected).sum() > 0.9
    app.sidebar.button(key="sample-coffee.png").click().run()  # another photo is shown whole again
    assert app.session_state["desk"].view_box() == (0, 0, 400, 600)


def test_a_large_photo_is_edited_in_finer_detail_and_kept_so_after_a_reload():
    import io

    from PIL import Image

    from ic.history import HistoryStore
    from ic.paths import data_dir

    buffer = io.BytesIO()
    Image.open(ROOT / "assets/samples/camera.png").convert("RGB").resize((3000, 2000)).save(buffer, format="PNG")
    app = open_page(timeout=120, visitor="f" * 32)
    app.sidebar.radio(key="source_kind").set_value("Upload").run()
    app.sidebar.file_uploader[0].upload("large.png", buffer.getvalue(), "image/png").run()
    assert app.session_state["desk"].edit.shape == (683, 1024)  # the default working size
    assert [app.segmented_control(key="detail").format_func(side) for side in (1024, 2048)] == ["1024 px", "2048 px"]
    app.segmented_control(key="zoom").set_value(2).run()
    app.segmented_control(key="detail").set_value(2048).run()
    desk = app.session_state["desk"]
    assert not app.exception and desk.edit.shape == (1365, 2048)
    assert desk.view_box() == (342, 512, 1024, 1536)  # still zoomed in, on the same place
    stroke = np.zeros((682, 1024), bool)  # the canvas holds the part shown, at working resolution
    stroke[300:340, 500:540] = True
    paint(app, stroke)
    edit = app.session_state["desk"].edit
    assert edit.removals == 1 and edit.mask.shape == (1365, 2048)
    assert edit.mask[642:682, 1012:1052].all() and edit.mask.sum() == 1600  # where painted, no wider
    assert app.segmented_control(key="detail").disabled  # its pixels were made at this size
    rows = HistoryStore(data_dir()).experiments.list("f" * 32)
    assert HistoryStore(data_dir()).experiments.get(rows[0].id, "f" * 32).images["mask"].shape == (1365, 2048)

    again = open_page(timeout=120, run=False)  # a reload
    again.query_params["visitor"] = "f" * 32
    again.run()
    assert again.session_state["desk"].edit.shape == (1365, 2048)
    assert again.session_state["desk"].edit.removals == 1


def test_detail_is_refused_once_a_removal_is_on_screen_and_undo_is_bounded_in_bytes(monkeypatch):
    from ic import experiment
    from ic.errors import ICError
    from ic.experiment import EditSession

    photo = np.random.default_rng(0).integers(0, 255, (2000, 3000, 3), dtype=np.uint8)
    edit = EditSession(photo, "noise.png").refined(2048)
    assert edit.shape == (1365, 2048)
    monkeypatch.setattr(experiment, "UNDO_BYTES", 3 * (1365 * 2048 * 4))  # three states' worth
    from ic.app import get_workbench
    from ic.classifiers import DEFAULT_MODEL
    from ic.inpaint import get_inpainter

    model = get_workbench().policy.classifier(DEFAULT_MODEL)
    for i in range(5):
        mask = np.zeros(edit.shape, bool)
        mask[10 + 100 * i:60 + 100 * i, 10:60] = True
        edit.apply(mask, get_inpainter("telea"), model)
    assert edit.removals == 5 and edit.mask.sum() == 5 * 2500  # every removal still applied
    steps = 0
    while edit.can_undo:
        edit.undo()
        steps += 1
    assert steps == 3  # but only three can be undone: older ones stay applied
    with pytest.raises(ICError, match="before the first removal"):
        edit.redo() or edit.refined(1024)
