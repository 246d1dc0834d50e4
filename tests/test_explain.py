"""Explanations on real photos: where the maps point, that they leave the shared model alone, and how faithful they are."""

import json
import subprocess
import sys
import threading

import numpy as np
import pytest

from ic import explain
from ic.errors import ICError
from ic.inpaint import get_inpainter

from conftest import ROOT, cli_env, sample

ESPRESSO, TRIPOD = 967, 872
CUP = (170, 20, 415, 305)  # x0, y0, x1, y1 of the cup (with handle) in coffee.png's 600 x 400 pixels
TRIPOD_BOX = (230, 190, 410, 512)  # the tripod, head to feet, in camera.png's 512 x 512 pixels


def inside(point, box, scale=1.0):
    x, y = point[0] / scale, point[1] / scale
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


@pytest.fixture(scope="module")
def coffee():
    return explain.explain_copy(sample("coffee.png"))


@pytest.fixture(scope="module")
def camera_small():
    return explain.explain_copy(sample("camera.png"))


@pytest.fixture(scope="module")
def tripod_occlusion(lite0, camera_small):
    return explain.occlusion_map(lite0, camera_small, TRIPOD, grid=8, infill=get_inpainter("telea"))


@pytest.mark.parametrize("method", ["gradcam", "gradcampp"])
def test_activation_map_for_espresso_peaks_on_the_cup(lite0, coffee, method):
    result = explain.activation_map(lite0, coffee, ESPRESSO, method)
    assert result.heatmap.shape == coffee.shape[:2]
    assert 0 <= result.heatmap.min() and result.heatmap.max() <= 1
    assert inside(result.peak(), CUP, scale=coffee.shape[1] / 600)


def test_occlusion_top_cell_for_tripod_lies_on_the_tripod(tripod_occlusion, camera_small):
    assert tripod_occlusion.grid.shape == (8, 8)
    assert tripod_occlusion.grid.max() <= tripod_occlusion.prob  # a drop in probability, not rescaled
    assert tripod_occlusion.prob > 0.5 and tripod_occlusion.grid.max() > 0.02
    assert inside(tripod_occlusion.peak(), TRIPOD_BOX, scale=camera_small.shape[1] / 512)


def _hooks(model) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               + len(getattr(m, "_full_backward_hooks", {}) or {}) for m in model.modules())


def test_maps_leave_the_shared_model_without_hooks_and_unchanged(lite0, coffee):
    before = lite0.predict([coffee])
    hooks = _hooks(lite0.model)
    for method in ("gradcam", "gradcampp", "scorecam"):
        explain.activation_map(lite0, coffee, ESPRESSO, method)
    assert _hooks(lite0.model) == hooks == 0
    assert np.array_equal(lite0.predict([coffee]), before)
    assert all(not p.requires_grad or p.grad is None for p in lite0.model.parameters())


def test_two_threads_get_the_same_maps_as_alone(lite0, coffee, camera_small, tripod_occlusion):
    alone = explain.activation_map(lite0, coffee, ESPRESSO, "gradcam").heatmap
    results = {}

    def run(name, fn):
        results[name] = fn()

    threads = [
        threading.Thread(target=run, args=("cam", lambda: explain.activation_map(lite0, coffee, ESPRESSO).heatmap)),
        threading.Thread(target=run, args=("occ", lambda: explain.occlusion_map(
            lite0, camera_small, TRIPOD, grid=8, infill=get_inpainter("telea")).grid)),
        threading.Thread(target=run, args=("pm", lambda: explain.occlusion_map(
            lite0, camera_small, TRIPOD, grid=4, infill=get_inpainter("patchmatch")).grid)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert np.allclose(results["cam"], alone, atol=1e-5)
    assert np.allclose(results["occ"], tripod_occlusion.grid, atol=1e-5)
    patchmatch_alone = explain.occlusion_map(lite0, camera_small, TRIPOD, grid=4, infill=get_inpainter("patchmatch"))
    assert np.allclose(results["pm"], patchmatch_alone.grid, atol=1e-5)  # seeded per cell: reproducible


@pytest.mark.parametrize("photo, class_index", [("camera.png", TRIPOD), ("coffee.png", ESPRESSO)])
def test_deletion_and_insertion_of_the_occlusion_order_beat_chance(lite0, photo, class_index):
    image = explain.explain_copy(sample(photo))
    occlusion = explain.occlusion_map(lite0, image, class_index, grid=8, infill=get_inpainter("telea"))
    order = explain.importance_order(occlusion, 8)
    deletion = explain.deletion_curve(lite0, image, class_index, order, 8)
    insertion = explain.insertion_curve(lite0, image, class_index, order, 8)
    assert deletion.probs[0] == pytest.approx(float(lite0.predict([image])[0, class_index]), abs=1e-6)
    assert deletion.fractions[0] == 0 and deletion.fractions[-1] == pytest.approx(1.0)
    assert insertion.probs[-1] == pytest.approx(deletion.probs[0], abs=1e-6)  # all restored: the photo itself
    assert 0 <= deletion.auc <= 1 and 0 <= insertion.auc <= 1
    rng = np.random.default_rng(0)
    orders = [[int(i) for i in rng.permutation(64)] for _ in range(3)]
    assert deletion.auc < np.mean([explain.deletion_curve(lite0, image, class_index, o, 8).auc for o in orders])
    # Insertion follows Grad-CAM's order: single-cell occlusion misses redundant evidence (three tripod legs, each
    # alone matters little), and restoring one cell at a time in its order brings the tripod back late.
    gradcam_order = explain.importance_order(explain.activation_map(lite0, image, class_index), 8)
    gradcam_insertion = explain.insertion_curve(lite0, image, class_index, gradcam_order, 8)
    assert gradcam_insertion.auc > np.mean([explain.insertion_curve(lite0, image, class_index, o, 8).auc for o in orders])


def test_iou_of_the_users_mask_with_the_models_region():
    heatmap = np.zeros((40, 40), np.float32)
    heatmap[10:20, 10:20] = 1
    same = np.zeros((40, 40), bool)
    same[10:20, 10:20] = True
    elsewhere = np.zeros((40, 40), bool)
    elsewhere[25:35, 25:35] = True
    assert explain.mask_iou(same, heatmap) == 1.0
    assert explain.mask_iou(elsewhere, heatmap) == 0.0
    assert explain.mask_iou(np.repeat(np.repeat(same, 2, 0), 2, 1), heatmap) == 1.0  # any resolution


def test_grid_outside_4_to_16_is_refused(lite0, camera_small):
    with pytest.raises(ICError, match="4 to 16"):
        explain.occlusion_map(lite0, camera_small, TRIPOD, grid=20, infill=get_inpainter("telea"))


def test_classes_by_label_synonym_or_index(lite0):
    assert lite0.class_index("espresso") == ESPRESSO
    assert lite0.class_index("baseball player") == 981
    assert lite0.class_index("872") == TRIPOD
    with pytest.raises(ICError, match="several classes"):
        lite0.class_index("crane")
    with pytest.raises(ICError, match="outside"):
        lite0.class_index("1000")


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "ic", *map(str, args)], cwd=ROOT, env=cli_env(),
                          capture_output=True, text=True, timeout=300)


def test_cli_explain_occlusion_json(tmp_path):
    done = run_cli("explain", "assets/samples/camera.png", "--method", "occlusion", "--grid", "6", "--class", "tripod",
                   "--out", tmp_path / "map.png", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["method"] == "occlusion" and {k: result["class"][k] for k in ("index", "label")} == {"index": TRIPOD, "label": "tripod"}
    grid = np.array(result["map"])
    assert grid.shape == (6, 6) and -1 <= grid.min() and grid.max() <= result["class"]["prob"]
    assert inside(result["peak"], TRIPOD_BOX)
    assert 0 <= result["deletion_auc"] < result["insertion_auc"] <= 1
    assert (tmp_path / "map.png").is_file()


def test_cli_explain_gradcam_defaults_to_the_top1_in_file_pixels():
    done = run_cli("explain", "assets/samples/coffee.png", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["method"] == "gradcam" and result["class"]["label"] == "espresso"
    cells = np.array(result["map"])
    assert cells.shape[0] <= 64 and cells.shape[1] <= 64 and 0 <= cells.min() and cells.max() <= 1
    assert inside(result["peak"], CUP)  # the file's own pixels, though maps are computed smaller


@pytest.mark.parametrize("args, words", [(["--class", "crane"], "several classes"), (["--method", "occlusion",
                                                                                     "--grid", "2"], "4 to 16")])
def test_cli_explain_bad_arguments_exit_2(args, words):
    done = run_cli("explain", "assets/samples/camera.png", *args)
    assert done.returncode == 2 and words in done.stderr and "Traceback" not in done.stderr


def test_two_maps_share_one_scale_so_a_map_that_weakened_looks_weaker(lite0, camera, tripod_mask):
    """Side by side, each map stretched to its own strongest made the edited map look as hot as the original's
    while its class had all but gone; on one scale equal colours are equal values."""
    edited = get_inpainter("telea")(camera, tripod_mask)
    small = {"original": explain.explain_copy(camera), "edited": explain.explain_copy(edited)}
    cams = {name: explain.activation_map(lite0, image, TRIPOD, "gradcam") for name, image in small.items()}
    assert cams["original"].prob > 5 * cams["edited"].prob  # the tripod is gone: the class fell
    assert all(item.heatmap.max() == pytest.approx(1, abs=1e-3) for item in cams.values())  # each on its own
    shared = explain.shared_scale(cams)
    peaks = {name: float(values.max()) for name, (values, _) in shared.items()}
    raw = {name: item.raw_range[1] for name, item in cams.items()}
    assert peaks["original"] == pytest.approx(1, abs=1e-3)  # the stronger map sets the scale
    assert peaks["edited"] == pytest.approx(raw["edited"] / raw["original"], rel=0.02) and peaks["edited"] < 0.8
    # occlusion: the drops as they are, on one range symmetric about 0 set by the largest drop of both
    drops = {name: explain.occlusion_map(lite0, image, TRIPOD, grid=4, infill=get_inpainter("telea"))
             for name, image in small.items()}
    shared = explain.shared_scale(drops)
    largest = max(float(np.abs(item.heatmap).max()) for item in drops.values())
    assert {scale for _, scale in shared.values()} == {(-largest, largest)}
    assert all(np.array_equal(values, drops[name].heatmap) for name, (values, _) in shared.items())
    # kept in the history and read back, the pair shares the same scale
    result = {"maps": {"gradcam": cams}, "scores": {}}
    [(maps, _)] = explain.stored_pairs(explain.stored_maps(result, 8, "telea"),
                                       {name: image.shape[:2] for name, image in small.items()})
    again = explain.shared_scale(maps)
    assert float(again["edited"][0].max()) == pytest.approx(peaks["edited"], abs=0.08)
