"""The classifier registry on real photos and real bundled weights, plus local checkpoints the tests build."""

import json
import pickle

import numpy as np
import pytest
import torch

from ic.classifiers import get_classifier, list_choices, load_classifier, resolve_choice
from ic.errors import ICError, Unavailable

from conftest import sample


@pytest.mark.parametrize("model", ["tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2"])
@pytest.mark.parametrize("photo, label, index, at_least", [
    ("coffee.png", "espresso", 967, 0.5),
    ("camera.png", "tripod", 872, 0.5),
])
def test_bundled_models_know_the_sample_photos(model, photo, label, index, at_least):
    classifier = get_classifier(model)
    top = classifier.top_k(classifier.predict([sample(photo)])[0], 5)
    assert top[0]["index"] == index and top[0]["label"] == label
    assert top[0]["prob"] > at_least
    assert all(a["prob"] >= b["prob"] for a, b in zip(top, top[1:]))


def test_cat_photo_is_a_cat_for_every_bundled_model():
    cats = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat
    for model in ("tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2"):
        classifier = get_classifier(model)
        assert classifier.top_k(classifier.predict([sample("chelsea.png")])[0], 1)[0]["index"] in cats


def test_batch_prediction_matches_single_predictions(lite0):
    photos = [sample("coffee.png"), sample("camera.png")]
    batch = lite0.predict(photos)
    assert batch.shape == (2, 1000)
    assert np.allclose(batch.sum(axis=1), 1, atol=1e-4)
    assert np.allclose(batch[1], lite0.predict(photos[1:])[0], atol=1e-5)


def test_labels_are_first_synonyms_and_the_index_tells_classes_apart(lite0):
    assert lite0.labels[981] == "ballplayer"
    assert lite0.descriptions[981].startswith("ballplayer, baseball player")
    cranes = [i for i, label in enumerate(lite0.labels) if label == "crane"]
    assert cranes == [134, 517]  # the bird and the machine


def test_squash_sees_the_whole_image_and_center_crop_does_not(lite0):
    image = sample("chelsea.png")  # 451 x 300: the center crop leaves out the sides
    top, left, bottom, right = lite0.crop_box(image.shape, "center")
    assert 0 < top < bottom < 300 and 0 < left < right < 451
    assert abs((bottom - top) - 0.875 * 300) <= 1 and bottom - top == right - left
    assert lite0.crop_box(image.shape, "squash") == (0, 0, 300, 451)
    edited = np.zeros_like(image)  # everything more than the resize kernel's reach outside the crop is gone
    edited[top - 4:bottom + 4, left - 4:right + 4] = image[top - 4:bottom + 4, left - 4:right + 4]
    assert np.allclose(lite0.predict([image], "center"), lite0.predict([edited], "center"), atol=1e-6)
    assert np.abs(lite0.predict([image], "squash") - lite0.predict([edited], "squash")).max() > 1e-3


def test_preprocessing_comes_from_the_pretrained_config(lite0):
    assert lite0.data_config["input_size"] == (3, 224, 224)
    assert lite0.data_config["mean"] == (0.5, 0.5, 0.5)
    assert get_classifier("tf_efficientnet_lite2").data_config["input_size"] == (3, 260, 260)


def test_weights_hash_identifies_the_weights(lite0):
    assert lite0.weights_hash == load_classifier("tf_efficientnet_lite0").weights_hash
    assert lite0.weights_hash != get_classifier("tf_efficientnet_lite1").weights_hash


def test_hub_model_offline_names_the_bundled_models_and_models_folder():
    with pytest.raises(Unavailable) as caught:
        load_classifier("resnet50.a1_in1k")
    message = str(caught.value)
    assert "tf_efficientnet_lite0" in message and "models/" in message


def test_any_timm_name_with_weights_is_a_hub_choice_and_unknown_names_are_refused():
    assert resolve_choice("resnet18.a1_in1k").group == "hub"
    with pytest.raises(ICError, match="tf_efficientnet_lite0"):
        resolve_choice("resnet_from_mars")


def test_registry_lists_bundled_hub_and_says_why_hub_is_unavailable():
    rows = {choice.name: choice.as_dict() for choice in list_choices()}
    for name in ("tf_efficientnet_lite0", "tf_efficientnet_lite1", "tf_efficientnet_lite2"):
        assert rows[name]["group"] == "bundled" and rows[name]["available"]
    hub = [row for row in rows.values() if row["group"] == "hub"]
    assert len(hub) == 4 and all(not row["available"] and "network" in row["reason"] for row in hub)


def _tiny_checkpoint(models_dir, name, save, labels=("cat", "dog", "bird")):
    import timm

    models_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = timm.create_model("resnet10t", pretrained=False, num_classes=len(labels))
    save(model.state_dict(), models_dir / name)
    (models_dir / name).with_suffix(".json").write_text(json.dumps({"architecture": "resnet10t", "labels": list(labels)}))
    return model


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_local_checkpoint_with_sidecar_loads_with_its_labels(tmp_path, monkeypatch, suffix, camera):
    from safetensors.torch import save_file

    monkeypatch.setenv("IC_MODELS_DIR", str(tmp_path))
    save = save_file if suffix == ".safetensors" else torch.save
    reference = _tiny_checkpoint(tmp_path, "pets" + suffix, save).eval()
    name = "local:pets" + suffix
    assert any(choice.name == name and choice.group == "local" for choice in list_choices())
    classifier = load_classifier(name)
    assert classifier.labels == ["cat", "dog", "bird"]
    probs = classifier.predict([camera])[0]
    with torch.inference_mode():
        expected = reference(classifier.input_tensor([camera])).softmax(-1)[0].numpy()
    assert np.allclose(probs, expected, atol=1e-5)
    assert classifier.top_k(probs, 5)[0]["label"] in {"cat", "dog", "bird"}


class _Boom:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_crafted_pickle_is_refused_and_never_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("IC_MODELS_DIR", str(tmp_path))
    marker = tmp_path / "pwned"
    (tmp_path / "evil.pth").write_bytes(pickle.dumps({"weight": _Boom(str(marker))}))
    (tmp_path / "evil.json").write_text(json.dumps({"architecture": "resnet10t"}))
    with pytest.raises(ICError, match="refused"):
        load_classifier("local:evil.pth")
    assert not marker.exists()


def test_local_checkpoint_that_does_not_fit_its_architecture_is_refused(tmp_path, monkeypatch):
    from safetensors.torch import save_file

    monkeypatch.setenv("IC_MODELS_DIR", str(tmp_path))
    _tiny_checkpoint(tmp_path, "wrong.safetensors", save_file)
    (tmp_path / "wrong.json").write_text(json.dumps({"architecture": "resnet18", "labels": ["a", "b", "c"]}))
    with pytest.raises(ICError, match="does not fit"):
        load_classifier("local:wrong.safetensors")


def test_forcing_a_missing_device_is_refused(monkeypatch):
    from ic.devices import pick_device

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ICError, match="no CUDA"):
        pick_device("cuda")
