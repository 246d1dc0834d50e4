"""LaMa end to end through the real loader, with TorchScript files the tests build.

LaMa's real weights (big-lama.pt) cannot be fetched on this machine; these
tests stand a small TorchScript module with LaMa's call signature in for them,
served by a local HTTP server on 127.0.0.1 where a download is tested.
"""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from ic.errors import Unavailable
from ic.inpaint import default_inpainter_name
from ic.inpaint.lama import FILENAME, LaMa, candidate_paths, find_weights

from lama_support import build_module


def decoded_size(pixel) -> tuple[int, int]:
    return round(pixel[0] / 255 * 2048 / 8) * 8, round(pixel[1] / 255 * 2048 / 8) * 8


def test_lookup_order_explicit_env_models_then_torch_hub(tmp_path, monkeypatch, module_file):
    models = Path(os.environ["IC_MODELS_DIR"])
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    monkeypatch.setenv("IC_LAMA_MODEL", str(tmp_path / "env.pt"))
    places = candidate_paths(tmp_path / "explicit.pt")
    assert places == [tmp_path / "explicit.pt", tmp_path / "env.pt", models / FILENAME, hub / FILENAME]
    assert find_weights() is None
    hub.mkdir(parents=True)
    build_module(hub / FILENAME)
    assert find_weights() == hub / FILENAME
    models.mkdir(parents=True)
    build_module(models / FILENAME)
    assert find_weights() == models / FILENAME
    assert find_weights(module_file) == module_file


def test_inpaints_odd_sizes_padded_to_eight_and_cropped_back(module_file, monkeypatch, camera):
    monkeypatch.setenv("IC_LAMA_MODEL", str(module_file))
    lama = LaMa()
    assert lama.available()[0]
    image = np.ascontiguousarray(camera[:203, :157])
    mask = np.zeros(image.shape[:2], bool)
    mask[90:110, 60:90] = True
    result = lama(image, mask)
    assert result.shape == image.shape
    assert np.array_equal(result[~mask], image[~mask])
    height, width = decoded_size(result[100, 70])
    assert height % 8 == 0 and width % 8 == 0 and height >= 150 and width >= 150
    assert result[100, 70, 2] == 128


def test_large_images_inpaint_a_crop_around_the_mask(module_file, camera):
    lama = LaMa(model_path=module_file)
    big = np.repeat(np.repeat(camera, 2, axis=0), 2, axis=1)  # 1024 x 1024
    mask = np.zeros(big.shape[:2], bool)
    mask[600:640, 300:380] = True
    result = lama(big, mask)
    height, width = decoded_size(result[620, 340])
    assert height < 512 and width < 512  # a crop with margin, not the whole image
    assert height >= 40 + 2 * 100 and width >= 80 + 2 * 100  # with context on every side
    assert np.array_equal(result[~mask], big[~mask])


def test_default_is_lama_once_its_weights_are_present(module_file, monkeypatch):
    assert default_inpainter_name() == "patchmatch"
    monkeypatch.setenv("IC_LAMA_MODEL", str(module_file))
    assert default_inpainter_name() == "lama"


def test_missing_weights_offline_is_unavailable_with_a_sentence():
    with pytest.raises(Unavailable) as caught:
        LaMa().prepare()
    assert "could not be downloaded" in str(caught.value) and "models" in str(caught.value)


def test_a_file_that_is_not_torchscript_is_refused(tmp_path):
    bogus = tmp_path / FILENAME
    bogus.write_bytes(b"not a model")
    with pytest.raises(Unavailable, match="not a loadable LaMa TorchScript"):
        LaMa(model_path=bogus).prepare()


def _hub_folder() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def test_download_verifies_renames_into_the_hub_folder_and_reports_progress(server, camera, tripod_mask):
    progress = []
    lama = LaMa()
    assert not lama.available()[0]
    lama.prepare(progress=lambda done, total: progress.append((done, total)))
    assert (_hub_folder() / FILENAME).is_file()
    assert progress[-1][0] == progress[-1][1] == len(server.payload)
    assert lama.available()[0]
    result = lama(camera, tripod_mask)
    assert np.array_equal(result[~tripod_mask], camera[~tripod_mask])
    assert list(_hub_folder().iterdir()) == [_hub_folder() / FILENAME]


def test_md5_mismatch_is_refused_and_nothing_is_kept(server, monkeypatch):
    monkeypatch.setenv("IC_LAMA_MD5", "0" * 32)
    with pytest.raises(Unavailable, match="MD5"):
        LaMa().prepare()
    assert not _hub_folder().exists() or list(_hub_folder().iterdir()) == []


def test_a_cut_off_download_is_never_used_and_the_next_try_works(server):
    server.cut_after = len(server.payload) // 2
    with pytest.raises(Unavailable):
        LaMa().prepare()
    assert list(_hub_folder().iterdir()) == []  # no partial file, under any name
    assert find_weights() is None
    server.cut_after = None
    lama = LaMa()
    lama.prepare()
    assert find_weights() == _hub_folder() / FILENAME


def test_a_hole_at_the_border_keeps_its_full_context_by_shifting_the_window_inward(module_file, camera):
    lama = LaMa(model_path=module_file)
    big = np.repeat(np.repeat(camera, 2, axis=0), 2, axis=1)  # 1024 x 1024
    mask = np.zeros(big.shape[:2], bool)
    mask[0:40, 984:1024] = True  # the top right corner
    top, left, bottom, right = lama.crop_box(mask)
    assert (top, right) == (0, 1024) and bottom - top == right - left == 40 + 2 * 128
    height, width = decoded_size(lama(big, mask)[20, 1000])
    assert (height, width) == (296, 296)  # as much context as a hole in the middle gets


def test_lama_never_runs_on_apple_mps_and_says_so(module_file, monkeypatch):
    import ic.devices

    monkeypatch.setattr(ic.devices, "pick_device", lambda: torch.device("mps"))
    device, note = ic.devices.lama_device()
    assert device.type == "cpu" and "MPS" in note
    ok, reason = LaMa(model_path=module_file).available()
    assert ok and "runs on the CPU" in reason
