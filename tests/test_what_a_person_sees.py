"""What a person sees (#23), below the browser: the answer's table always holds the classes its notice names; one
colour bar per map; curves told apart; Cancel gone when work ends; estimates made from this machine's rates; a
first load that names its steps and an export reused after a restart; the server's preparation; the sweep's
flipped tiles showing the edited image; mean drops in points."""

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from waiting import until

from ic import explain
from ic.experiment import comparison_rows
from ic.images import encode_png
from ic.models import models

from conftest import SAMPLES, open_page, sample


def explore() -> AppTest:
    app = open_page(timeout=180, run=False)
    app.query_params["visitor"] = "d" * 32
    return app.run().run()  # the second run draws what the first leaves below the fold


def remove_with_mask_file(app: AppTest, mask: np.ndarray) -> AppTest:
    [uploader] = [u for u in app.file_uploader if u.key.startswith("mask-file-")]
    uploader.upload("mask.png", encode_png(mask), "image/png").run()
    next(b for b in app.button if b.label == "Remove the masked region").click().run()
    return app


def test_the_table_always_holds_both_top1_classes():
    before = np.array([0.7, 0.2, 0.05, 0.05])
    after = np.array([0.1, 0.2, 0.05, 0.65])  # the new top-1 is outside the original's top-2
    rows = comparison_rows(before, after, ["a", "b", "c", "d"], 2)
    assert [row["index"] for row in rows] == [0, 1, 3]
    rows = comparison_rows(before, after, ["a", "b", "c", "d"], 1, order="edited")
    assert [row["index"] for row in rows] == [3, 0]


def test_a_removal_made_from_a_mask_file_names_a_class_of_the_table(tripod_mask):
    app = explore()
    app.sidebar.slider(key="top_k").set_value(1).run()
    remove_with_mask_file(app, tripod_mask)
    assert not app.exception and not app.error
    [notice] = [w.value for w in app.warning if "Top-1 changed" in w.value]
    shown = set(app.table[0].value["class"])
    assert len(shown) == 2 and all(label in notice for label in shown)  # tripod, and what it became


def test_one_colour_bar_per_map_low_to_high():
    for scale, signed in (((0.0, 1.0), False), ((-0.2, 0.2), True)):
        bar = explain.legend(scale, signed)
        assert bar.shape == (14, 256, 3)
        assert (bar == bar[:1]).all()  # every row the same: one bar, not strips
        assert not np.array_equal(bar[0, 0], bar[0, -1])
    signed = explain.legend((-0.2, 0.2), True)[0]
    assert signed[0, 2] > signed[0, 0] and signed[-1, 0] > signed[-1, 2]  # blue where removing raises it, red where it lowers
    assert signed[128].min() > 230  # white for no change


def test_maps_on_the_page_end_without_cancel_and_their_curves_differ_in_colour(tripod_mask):
    app = explore()
    app.multiselect(key="explain-methods").set_value(["gradcam"]).run()
    next(b for b in app.button if b.label == "Compute maps").click().run()
    assert not app.exception and not app.error
    assert not [b for b in app.button if b.key == "explain-cancel"]  # gone once the maps are there
    specs = [json.loads(chart.proto.spec) for chart in app.get("vega_lite_chart")]
    curves = next(spec for spec in specs if "deletion (lower is better)" in json.dumps(spec))
    colour = curves["encoding"]["color"]["scale"]
    assert colour["domain"] == ["deletion (lower is better)", "insertion (higher is better)"]
    assert len(set(colour["range"])) == 2
    alts = [shown.alt for image in app.get("image") for shown in image.proto.imgs]
    assert any("colour bar" in alt for alt in alts) and any("heat map over the image, strongest" in alt for alt in alts)


def test_estimates_count_the_work_from_measured_rates(lite0):
    telea = explain.get_inpainter("telea")
    one = explain.maps_estimate(lite0, ["occlusion"], 8, telea, images=1).seconds
    two = explain.maps_estimate(lite0, ["occlusion"], 8, telea, images=2).seconds
    curves = explain.cost.curve_images(8) * explain.cost.classify_s(lite0)
    assert explain.cost.curve_images(8) == 2 * 65  # a cell a step, deletion and insertion
    assert two - curves == pytest.approx(2 * (one - curves))  # the map twice, its curves once
    with_rise = explain.maps_estimate(lite0, ["occlusion"], 8, telea, images=1, rise=True).seconds
    assert with_rise - one == pytest.approx(explain.cost.RISE_IMAGES / explain.maps.BATCH * explain.cost.eager_batch_s(lite0))
    assert explain.cost.RISE_IMAGES == 2 * len(explain.rise_curves(lite0, sample("camera.png"), 0,
                                                                      np.ones((7, 7)))["deletion"].probs)
    search = explain.flip_estimate(lite0, 8, telea, "map")
    assert search.steps == 32 and 0 < search.step_s < search.seconds  # half of 64 cells
    assert "each step takes about" in search.sentence() and "would take about" in search.sentence()
    assert explain.flip_estimate(lite0, 8, telea, "adaptive").seconds > search.seconds  # it classifies every cell each step


def test_a_page_estimate_waits_for_no_measurement(lite0, monkeypatch):
    import threading

    from ic.explain import cost

    monkeypatch.setattr(models(), "rates", {})
    measured = threading.Event()  # the measurement takes until the test lets it end
    slow = lambda: (measured.wait(60), 0.01)[1]
    monkeypatch.setattr(cost, "classify_s", lambda classifier: cost._measured(("classify", "x"), slow))
    estimate = lambda: cost.maps_estimate(lite0, ["gradcam"], 8, explain.get_inpainter("telea"))
    assert cost.at_once(estimate, wait_s=0.05) is None  # not measured yet: the page says so, and looks again
    assert cost.at_once(estimate, wait_s=0.05) is None  # still measuring: not waited for a second time either
    measured.set()
    found = until(lambda: cost.at_once(estimate, wait_s=0.05), 60, "the estimate once its rate is measured")
    assert found.seconds > 0


def test_a_first_load_names_its_steps_and_a_restart_reuses_the_export(tmp_path, monkeypatch, fresh_models):
    from ic.classifiers import get_classifier, loading_step

    monkeypatch.setenv("IC_CACHE_DIR", str(tmp_path / "cache"))
    steps = []
    get_classifier("tf_efficientnet_lite0", on_step=steps.append)
    assert steps[0] == "reading the prepared fast path" and "starting PyTorch and timm" in steps
    assert "loading the weights" in steps and any("fast path" in step and "ONNX" in step for step in steps)
    assert loading_step("tf_efficientnet_lite0") is None  # said while it loads, not after
    fresh_models.reset()  # as a restart would: the export is read back, nothing else is done
    again = []
    get_classifier("tf_efficientnet_lite0", on_step=again.append)
    assert again == ["reading the prepared fast path"]


def test_the_preparation_loads_the_default_classifier_and_the_estimates_rates(fresh_models):
    from ic.classifiers import get_classifier, is_loaded
    from ic.explain import cost
    from ic.prepare import prepare

    assert prepare(pause_s=0) > 0
    assert is_loaded("tf_efficientnet_lite0")
    with cost.known_only():  # what the page's first estimate needs is measured already
        cost.maps_estimate(get_classifier("tf_efficientnet_lite0"), ["occlusion"], 8, explain.get_inpainter("telea"))


def test_the_flipped_tiles_are_the_images_the_classifier_judged(tmp_path):
    from ic import sweeps
    from ic.images import decode_mask, square_thumbnail, working_copy
    from ic.inpaint import get_inpainter

    names = ["camera.png", "coffee.png"]
    items = [sweeps.Item(name, name, (SAMPLES / name).read_bytes(), (SAMPLES / "masks" / name).read_bytes())
             for name in names]
    plan = sweeps.Plan(("tf_efficientnet_lite0",), ("telea",)).check()
    rows = [{"image": name, "image_sha": name, "object": "", "model": "tf_efficientnet_lite0", "inpainter": "telea",
             "mode": "object", "changed": True} for name in names]
    tiles = sweeps.flipped_edits(items, rows, plan)
    image = working_copy(sample("camera.png"))
    mask = decode_mask(SAMPLES / "masks" / "camera.png", image.shape[:2])
    edited = get_inpainter("telea")(image, mask, seed=0)
    assert np.array_equal(tiles["camera.png", "", "tf_efficientnet_lite0", "telea"], square_thumbnail(edited, 180))
    assert not np.array_equal(tiles["camera.png", "", "tf_efficientnet_lite0", "telea"], square_thumbnail(image, 180))
