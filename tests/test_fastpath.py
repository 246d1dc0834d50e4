"""The ONNX Runtime fast path agrees with timm eager, is exported once, and falls back cleanly."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from timm.data import create_transform

from ic.classifiers import exported, fastpath, load_classifier
from ic.samples import list_samples

from conftest import ROOT, cli_env, sample

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
    assert not exported("tf_efficientnet_lite0")  # the server's preparation then waits for a first page's frame
    first = load_classifier("tf_efficientnet_lite0")
    assert len(calls) == 1 and exported("tf_efficientnet_lite0")
    graphs = sorted(p.name for p in (tmp_path / "onnx").glob("*.onnx"))
    assert len(graphs) == 1 and first.weights_hash in graphs[0]
    load_classifier("tf_efficientnet_lite0")
    assert len(calls) == 1  # cached: no second export


def test_a_failed_export_falls_back_to_eager_with_a_warning(tmp_path, monkeypatch, caplog, camera):
    monkeypatch.setenv("IC_CACHE_DIR", str(tmp_path))

    def broken(*args, **kwargs):
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(fastpath, "export", broken)
    classifier = load_classifier("tf_efficientnet_lite0")
    assert classifier.fast is None
    assert "slower path" in classifier.slow_path and "exporter exploded" in classifier.slow_path
    assert classifier.slow_path in caplog.text
    assert classifier.top_k(classifier.predict([camera])[0], 1)[0]["label"] == "tripod"


def test_an_unwritable_export_cache_is_said_not_hidden(tmp_path, monkeypatch, camera):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("IC_CACHE_DIR", str(blocker))
    classifier = load_classifier("tf_efficientnet_lite0")
    assert classifier.fast is None and "eager PyTorch" in classifier.slow_path
    assert classifier.top_k(classifier.predict([camera])[0], 1)[0]["label"] == "tripod"


WITHOUT_ONNX = """
import sys
sys.modules["onnx"] = None  # importing it fails with ModuleNotFoundError, as where it was never installed
from ic.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_without_onnx_the_cli_says_so_on_stderr_and_still_answers(tmp_path):
    done = subprocess.run([sys.executable, "-c", WITHOUT_ONNX, "classify", "assets/samples/coffee.png", "--json"],
                          cwd=ROOT, env=cli_env(IC_CACHE_DIR=str(tmp_path)), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["top"][0]["label"] == "espresso"
    assert "slower path" in done.stderr and "ModuleNotFoundError: import of onnx" in done.stderr
    assert "pip install -r requirements.txt" in done.stderr


def test_ic_onnx_0_turns_it_off(tmp_path, monkeypatch):
    monkeypatch.setenv("IC_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("IC_ONNX", "0")
    classifier = load_classifier("tf_efficientnet_lite0")
    assert classifier.fast is None and classifier.slow_path is None  # asked for: nothing to warn about
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


@pytest.mark.parametrize("model", BUNDLED)
@pytest.mark.parametrize("mode", ["squash", "center"])
def test_pil_resize_is_timms_pixel_for_pixel(model, mode, photos):
    """The fast path resizes with PIL alone (no torch to import); it must be exactly timm's transform."""
    classifier = load_classifier(model)
    timm_steps = fastpath.split_transform(classifier.transform(mode))[0]
    ours = fastpath.pil_preprocess(classifier.data_config, mode)
    rng = np.random.default_rng(0)
    odd = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(1, 1), (37, 500), (500, 37), (224, 224),
                                                                         (225, 300), (301, 257), (1024, 683)]]
    for image in photos + odd:
        expected = Image.fromarray(image)
        for step in timm_steps:
            expected = step(expected)
        assert np.array_equal(ours(image), np.asarray(expected)), image.shape


FRESH_PROCESS = """
import json, sys
import numpy as np
from ic.classifiers import get_classifier
from ic.images import decode_image
from ic.paths import samples_dir
photo = decode_image(samples_dir() / "camera.png")
classifier = get_classifier("tf_efficientnet_lite0")
fast = classifier.predict([photo])[0]
torch_imported = "torch" in sys.modules or "timm" in sys.modules
eager = classifier.predict_eager([photo])[0]  # the PyTorch model loads now, on demand
print(json.dumps({"torch_before_eager": torch_imported, "fast": fast.tolist(), "eager": eager.tolist(),
                  "labels": classifier.labels[:3], "hash": classifier.weights_hash}))
"""


def test_a_later_process_classifies_from_the_export_cache_without_torch(tmp_path):
    def fresh():
        done = subprocess.run([sys.executable, "-c", FRESH_PROCESS], cwd=ROOT, capture_output=True, text=True,
                              env=cli_env(IC_CACHE_DIR=str(tmp_path), IC_DEVICE="cpu"), timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout)

    first, second = fresh(), fresh()  # the first exports and writes the manifest; the second uses them
    assert first["torch_before_eager"] and not second["torch_before_eager"]
    assert second["fast"] == first["fast"] and second["labels"] == first["labels"] == ["tench", "goldfish",
                                                                                         "great white shark"]
    assert second["hash"] == first["hash"]
    assert np.abs(np.array(second["fast"]) - np.array(second["eager"])).max() < 1e-4


def test_changed_weights_or_labels_are_not_served_from_an_old_manifest(tmp_path, monkeypatch, camera):
    from safetensors.torch import save_file

    from test_classifiers import _tiny_checkpoint

    monkeypatch.setenv("IC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("IC_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("IC_DEVICE", "cpu")
    _tiny_checkpoint(tmp_path / "models", "pets.safetensors", save_file)
    first = load_classifier("local:pets.safetensors")
    assert load_classifier("local:pets.safetensors")._model is None  # served from the manifest, model not loaded
    sidecar = tmp_path / "models" / "pets.json"
    sidecar.write_text(json.dumps({"architecture": "resnet10t", "labels": ["ant", "bee", "cow"]}))
    relabelled = load_classifier("local:pets.safetensors")
    assert relabelled.labels == ["ant", "bee", "cow"] and first.labels == ["cat", "dog", "bird"]
    assert relabelled.top_k(relabelled.predict([camera])[0], 1)[0]["label"] in {"ant", "bee", "cow"}
    state = {key: tensor + 0.01 if tensor.is_floating_point() else tensor
             for key, tensor in relabelled.model.state_dict().items()}
    save_file(state, str(tmp_path / "models" / "pets.safetensors"))
    retrained = load_classifier("local:pets.safetensors")
    assert retrained.weights_hash != first.weights_hash


def test_the_cache_is_used_only_where_the_device_is_certainly_the_cpu(monkeypatch):
    from ic.devices import certainly_cpu

    monkeypatch.setenv("IC_DEVICE", "cuda")
    assert not certainly_cpu()
    monkeypatch.setenv("IC_DEVICE", "cpu")
    assert certainly_cpu()
