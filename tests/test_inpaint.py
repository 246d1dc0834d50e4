"""Every inpainting method on a real photo: the rest of the image is untouched, the hole is filled."""

import numpy as np
import pytest

from ic.errors import ICError
from ic.inpaint import REGISTRY, default_inpainter_name, get_inpainter, list_inpainters

CLASSIC = [name for name in REGISTRY if name != "lama"]  # LaMa: tests/test_lama.py, with a built module


@pytest.mark.parametrize("name", CLASSIC)
def test_method_changes_only_the_masked_pixels(name, camera, tripod_mask):
    method = get_inpainter(name)
    assert method.available()[0], method.available()[1]
    result = method(camera, tripod_mask)
    assert result.dtype == np.uint8 and result.shape == camera.shape
    assert np.array_equal(result[~tripod_mask], camera[~tripod_mask])
    assert np.abs(result[tripod_mask].astype(int) - camera[tripod_mask]).mean() > 5


@pytest.mark.parametrize("name", CLASSIC)
def test_method_keeps_the_input_intact_and_handles_odd_sizes(name, camera):
    image = np.ascontiguousarray(camera[3:200, 5:306])  # 197 x 301
    before = image.copy()
    mask = np.zeros(image.shape[:2], bool)
    mask[0:40, 250:301] = True  # touching two borders
    result = get_inpainter(name)(image, mask)
    assert np.array_equal(image, before)
    assert np.array_equal(result[~mask], image[~mask])


@pytest.mark.parametrize("name", ["patchmatch", "telea", "blur"])
def test_cost_follows_the_mask_not_the_image(name, camera, monkeypatch):
    method = get_inpainter(name)
    seen = []
    original_forward = type(method).forward
    monkeypatch.setattr(type(method), "forward", lambda self, im, m, s: seen.append(im.shape) or original_forward(self, im, m, s))
    big = np.repeat(np.repeat(camera, 2, axis=0), 2, axis=1)  # 1024 x 1024
    mask = np.zeros(big.shape[:2], bool)
    mask[500:540, 500:560] = True
    method(big, mask)
    height, width = seen[0][:2]
    assert height < 400 and width < 400


def test_patchmatch_fills_a_large_hole_at_reduced_resolution_and_leaves_nothing_of_it(camera, monkeypatch):
    method = get_inpainter("patchmatch")
    seen = []
    original_forward = type(method).forward
    monkeypatch.setattr(type(method), "forward", lambda self, im, m, s: seen.append(int(m.sum())) or original_forward(self, im, m, s))
    image = camera.copy()
    mask = np.zeros(image.shape[:2], bool)
    mask[150:350, 180:380] = True  # 40,000 pixels, 2.5 times the budget
    image[mask] = (255, 0, 0)  # a red object to remove: the photo is grey
    result = method(image, mask)
    assert seen[0] <= method.max_hole_pixels * 1.1
    assert np.array_equal(result[~mask], image[~mask])
    filled = result[mask].astype(int)
    assert (np.abs(filled[:, 0] - filled[:, 1]) < 40).all()  # no red survives, even at the hole's edge
    assert filled.std() > 3  # texture, not a flat colour


def test_patchmatch_is_reproducible_with_a_seed(camera, tripod_mask):
    method = get_inpainter("patchmatch")
    assert np.array_equal(method(camera, tripod_mask, seed=7), method(camera, tripod_mask, seed=7))


def test_empty_mask_returns_an_equal_copy(camera):
    result = get_inpainter("telea")(camera, np.zeros(camera.shape[:2], bool))
    assert np.array_equal(result, camera) and result is not camera


def test_mean_fills_with_the_mean_of_the_rest(camera, tripod_mask):
    result = get_inpainter("mean")(camera, tripod_mask)
    expected = camera[~tripod_mask].mean(axis=0).round()
    assert np.array_equal(result[tripod_mask][0], expected.astype(np.uint8))


def test_unknown_method_lists_the_valid_names():
    with pytest.raises(ICError, match="patchmatch"):
        get_inpainter("photoshop")


def test_listing_says_why_lama_is_unavailable_and_defaults_to_patchmatch():
    rows = {row["name"]: row for row in list_inpainters()}
    assert set(rows) == {"lama", "patchmatch", "telea", "ns", "blur", "mean"}
    assert rows["lama"]["available"] is False
    assert "big-lama.pt" in rows["lama"]["reason"] and "models" in rows["lama"]["reason"]
    assert default_inpainter_name() == "patchmatch"
