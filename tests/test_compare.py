"""One edit across several classifiers and inpainters: engine, CLI and page."""

import json
import subprocess
import sys

import numpy as np
import pytest

from ic.app import get_workbench
from ic.compare import compare, summary_table
from ic.experiment import EditSession
from ic.history import open_store
from ic.inpaint import get_inpainter

from conftest import ROOT, cli_env, ids_shown, open_page, percents_off_rule, shown_strings

BUNDLED = ["tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2"]


def test_three_bundled_models_give_three_real_different_answers(camera, tripod_mask):
    result = compare("camera.png", camera, tripod_mask, BUNDLED, ["patchmatch"])
    table = summary_table(result.rows)
    assert [row["classifier"] for row in table] == BUNDLED
    assert all(row["error"] is None and row["original top-1"] == "tripod" for row in table)
    originals = [row["original p"] for row in table]
    assert len(set(np.round(originals, 4))) == 3 and all(0.5 < p < 1 for p in originals)
    assert all(row["change of original class (pt)"] < -30 for row in table)  # no model keeps the tripod
    assert len(result.records) == 3


def test_two_inpainters_give_six_rows_on_the_same_edited_images(camera, tripod_mask):
    result = compare("camera.png", camera, tripod_mask, BUNDLED, ["patchmatch", "telea"])
    assert len(result.rows) == 6
    assert set(result.edited) == {"patchmatch", "telea"}
    for name, image in result.edited.items():
        assert np.array_equal(image[~tripod_mask], camera[~tripod_mask])
        assert np.array_equal(image, get_inpainter(name)(camera, tripod_mask))  # one go, from the original
    edited_probs = {(r["model"], r["inpainter"]): r["edited"]["top"][0]["prob"] for r in result.rows}
    assert len(set(np.round(list(edited_probs.values()), 5))) == 6


def test_a_model_that_cannot_load_says_why_and_the_others_run(camera, tripod_mask):
    result = compare("camera.png", camera, tripod_mask, ["resnet50.a1_in1k", "tf_efficientnet_lite0"], ["telea"])
    failed, ok = result.rows
    assert "Hugging Face" in failed["error"] and failed["edited"]["top"] == []
    assert ok["error"] is None and ok["original"]["top"][0]["label"] == "tripod"


def test_cli_compare_json():
    done = subprocess.run([sys.executable, "-m", "ic", "compare", "assets/samples/camera.png", "--mask",
                           "assets/samples/camera_tripod_mask.png", "--models", ",".join(BUNDLED + ["no_such_net"]),
                           "--inpainters", "telea,blur", "--json"], cwd=ROOT, env=cli_env(), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) == 8
    assert {"image", "model", "inpainter", "original", "edited", "changes", "top1_changed", "timings_ms",
            "error"} <= set(rows[0])
    assert [r["error"] is None for r in rows] == [True] * 6 + [False] * 2
    assert "no classifier called" in rows[-1]["error"]


@pytest.fixture
def explore_state(camera, tripod_mask, lite0):
    edit = EditSession(camera, "camera.png")
    edit.apply(tripod_mask, get_inpainter("telea"), lite0)
    return edit


def test_page_compares_the_explore_edit_and_saves_one_group(explore_state):
    app = open_page(timeout=180, visitor="e" * 32)
    app.session_state["desk"].edit = explore_state  # as if the tripod had been painted away on Explore
    app.switch_page("app_pages/compare.py").run()
    assert not app.exception
    assert any("current edit on the Explore page (1 removal)" in c.value for c in app.caption)
    app.multiselect(key="compare-inpainters").set_value(["patchmatch", "telea"]).run()
    next(b for b in app.button if b.label == "Compare").click().run()
    assert not app.exception and not app.error
    table = app.dataframe[0].value
    assert len(table) == 6 and set(table["classifier"]) == {"EfficientNet-Lite0", "EfficientNet-Lite1", "EfficientNet-Lite2"}
    assert set(table["inpainter"]) == {"PatchMatch", "OpenCV Telea"}  # titles, not ids
    assert "error" not in table.columns and "why unavailable" not in table.columns  # every row ran
    assert any("Added 6 rows to History as one group" in s.value for s in app.success)
    assert ids_shown(app) == []  # one name per model and inpainter: the same as Explore's and History's
    assert percents_off_rule(app) == []  # one decimal for every percentage (ic.numbers)
    assert get_workbench().history.saving.flush(30)
    rows = open_store().experiments.list("e" * 32)
    assert len(rows) == 6 and len({row.group_id for row in rows}) == 1 and rows[0].group_id
    for page in ("explore", "history"):
        app.switch_page(f"app_pages/{page}.py").run()
        assert not app.exception, app.exception
        assert ids_shown(app) == [], page
        assert percents_off_rule(app) == [], page
    assert any("EfficientNet-Lite1" in text for text in shown_strings(app))  # History's list names them too


def test_page_without_an_edit_says_what_to_do():
    app = open_page(timeout=120)
    app.switch_page("app_pages/compare.py").run()
    assert not app.exception
    assert any("Remove something on the Explore page first" in i.value for i in app.info)
