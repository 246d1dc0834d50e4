"""Selecting an object without weights (GrabCut on features, corrected by clicks) and keeping only a region."""

import cv2
import numpy as np
import pytest

from ic.app import Workbench
from ic.errors import ICError
from ic.experiment import EditSession
from ic.images import decode_mask, mask_from_layer
from ic.inpaint import get_inpainter
from ic.select import grow, propose

from conftest import SAMPLES, sample

TRIPOD_BOX = (226, 186, 415, 512)


def iou(a, b) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.fixture(scope="module")
def truth():
    return decode_mask(SAMPLES / "camera_tripod_mask.png", (512, 512))


def worst_error_click(mask, truth):
    """Where a person would click next: inside the largest region the proposal has wrong."""
    best = None
    for is_object, wrong in ((True, truth & ~mask), (False, mask & ~truth)):
        count, labels, stats, _ = cv2.connectedComponentsWithStats(wrong.astype(np.uint8))
        if count > 1:
            largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
            if best is None or stats[largest, cv2.CC_STAT_AREA] > best[0]:
                best = (stats[largest, cv2.CC_STAT_AREA], is_object, labels == largest)
    _, is_object, region = best
    inside = cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(int(inside.argmax()), inside.shape)
    return float(x), float(y), is_object


def test_the_tripod_from_its_box_and_from_a_few_corrective_clicks(camera, truth, capsys):
    selection = propose(camera, TRIPOD_BOX)
    reached = [iou(selection.mask, truth)]
    box_only = np.zeros_like(truth)
    box_only[TRIPOD_BOX[1]:TRIPOD_BOX[3], TRIPOD_BOX[0]:TRIPOD_BOX[2]] = True
    clicks = []
    for _ in range(4):
        clicks.append(worst_error_click(selection.mask, truth))
        selection = propose(camera, TRIPOD_BOX, clicks)
        reached.append(iou(selection.mask, truth))
    with capsys.disabled():
        print(f"\nGrabCut on features, tripod IoU: box {reached[0]:.3f} (the box itself {iou(box_only, truth):.3f}); "
              f"after 1-4 clicks {', '.join(f'{v:.3f}' for v in reached[1:])}")
    assert reached[0] >= 0.45 > iou(box_only, truth)
    assert max(reached[1:]) >= 0.6  # within four clicks
    assert np.array_equal(propose(camera, TRIPOD_BOX).mask, propose(camera, TRIPOD_BOX).mask)  # seeded


def test_grow_and_shrink_move_the_edge(camera):
    selection = propose(camera, TRIPOD_BOX)
    bigger, smaller = grow(selection, 4), grow(selection, -4)
    assert smaller.mask.sum() < selection.mask.sum() < bigger.mask.sum()
    assert (bigger.mask | selection.mask).sum() == bigger.mask.sum() and bigger.grown == 4


@pytest.mark.parametrize("box", [(10, 10, 12, 200), (0, 0, 512, 512)])
def test_a_box_too_small_or_the_whole_photo_is_refused_with_a_sentence(camera, box):
    with pytest.raises(ICError, match="box"):
        propose(camera, box)


def test_the_eraser_colour_takes_paint_away_and_paint_over_it_counts_again():
    layer = np.zeros((20, 20, 4), np.uint8)
    layer[:, :10] = (255, 0, 80, 140)  # paint
    layer[:, 5:10] = (255, 255, 255, 217)  # the eraser over part of it
    layer[:2, 5:10] = (255, 97, 140, 230)  # paint again over the eraser: its colour shows through
    mask = mask_from_layer(layer, (20, 20))
    assert mask[5, :5].all() and not mask[5, 5:].any() and mask[:2, 5:10].all()


def test_keeping_only_the_tripod_replaces_the_rest_beyond_the_90_percent_limit(lite0, truth, tmp_path):
    edit = EditSession(sample("camera.png"), "camera.png")
    record = edit.apply(truth, get_inpainter("blur"), lite0, background=True)
    assert record.kind == "background" and record.summary()["kind"] == "background"
    assert record.mask.mean() == pytest.approx(1 - truth.mean(), abs=1e-6) and record.mask.mean() > 0.9
    assert np.array_equal(edit.edited[truth], edit.original[truth])  # the tripod itself untouched
    bench = Workbench(tmp_path)
    with pytest.raises(ICError, match="blur or mean"):
        bench.actions.remove(EditSession(sample("camera.png")), truth, owner="a" * 32, model="tf_efficientnet_lite0",
                     inpainter="patchmatch", background=True)
    removal = bench.actions.remove(EditSession(sample("camera.png")), truth, owner="a" * 32, model="tf_efficientnet_lite0",
                           inpainter="mean", background=True)
    bench.history.saving.flush(30)
    assert bench.history.store.experiments.get(removal.experiment_id, "a" * 32).summary["kind"] == "background"
