"""The ONNX Runtime fast path agrees with timm eager, is exported once, and falls back cleanly."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from timm.data import create_transform

from conftest import ROOT, cli_env, sample
from ic import fastpath
from ic.classifiers import load_classifier
from ic.samples import list_samples

BUNDLED = ["tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2"]


@pytest.fixture(scope="module")
def photos():
    return [sample(s.name) for s in list_samples()]


def timm_eager(classifier, images, mode):
    """The baseline, written out: timm's own eval transform and the model, fp32, under inference_mode."""
    config = dict(classifier.data_config)
    if mode == "squash":
        config.update(crop_mode="squash", crop_pct=1.0)
    transform = create_transform(**config)
    with torch.inference_mode():
        return classifier.model(torch.stack([transform(Image.fromarray(i)) for i in images])).softmax(-1).numpy()


@pytest.mark.parametrize("model", BUNDLED)
@pytest.mark.parametrize("mode", ["squash", "center"])
def test_fast_path_matches_timm_eager_on_every_sample(model, mode, photos):
    classifier = load_classifier(model)
    assert classifier.fast is not None
    fast = np.concatenate([classifier.predict([photo], mode) for photo in photos[:3]]
                          + [classifier.predict(photos[3:], mode)])  # single images and a batch
    eager = timm_eager(classifier, photos, mode)
    assert np.abs(fast - eager).max() < 1e-4
    for fast_row, eager_row in zip(fast, eager):
        assert list(np.argsort(-fast_row)[:5]) == list(np.argsort(-eager_row)[:5])


def test_export_happens_once_and_is_keyed_by_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("IC_CACHE_DIR", str(tmp_path))
    calls = []
    real_export = fastpath.export
    monkeypatch.setattr(fastpath, "export", lambda *a, **k: calls.append(a[-1]) or real_export(*a, **k))
    first = load_classifier("tf_efficientnet_lite0")
    assert len(calls) == 1
    files = sorted(p.name for p in (tmp_path / "onnx").iterdir())
    assert len(files) == 1 and first.weights_hash in files[0]
    load_classifier("tf_efficientnet_lite0")
    assert len(calls) == 1  # cached: no second export


def test_a_failed_export_falls_back_to_eager_with_a_warning(tmp_path, monkeypatch, caplog, camera):
    monkeypatch.setenv("IC_CACHE_DIR", str(tmp_path))

    def broken(*args, **kwargs):
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(fastpath, "export", broken)
    classifier = load_classifier("tf_efficientnet_lite0")
    assert classifier.fast is None
    assert "using eager PyTorch" in caplog.text
    assert classifier.top_k(classifier.predict([camera])[0], 1)[0]["label"] == "tripod"


def test_ic_onnx_0_turns_it_off(tmp_path, monkeypatch):
    monkeypatch.setenv("IC_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("IC_ONNX", "0")
    assert load_classifier("tf_efficientnet_lite0").fast is None
    assert not (tmp_path / "onnx").exists()


def test_exporting_prints_nothing_on_stdout(tmp_path):
    code = ("from ic.classifiers import load_classifier; c = load_classifier(); "
            "assert c.fast is not None")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=cli_env(IC_CACHE_DIR=str(tmp_path)),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    done = subprocess.run([sys.executable, "-m", "ic", "classify", "assets/samples/coffee.png", "--json"], cwd=ROOT,
                          env=cli_env(IC_CACHE_DIR=str(tmp_path / "fresh")), capture_output=True, text=True,
                          timeout=300)
    assert json.loads(done.stdout)["top"][0]["label"] == "espresso"
