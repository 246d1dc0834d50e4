"""The loaded classifier, shareable between sessions, and the process's one cache of them.

Preprocessing is derived from the model's pretrained config. By default the
classifier sees the whole image squashed to its input size, so an edit
anywhere can change the answer; "center" is the model's own center crop.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ic.classifiers import fastpath
from ic.classifiers.loaders import load_model, weights_files
from ic.classifiers.registry import DEFAULT_MODEL, PREPROCESS_MODES, file_choice, resolve_choice
from ic.compute import slot
from ic.devices import certainly_cpu, pick_device
from ic.errors import ICError, Unavailable
from ic.models import models


def _imagenet_labels(model) -> tuple[list[str], list[str]] | None:
    from timm.data import ImageNetInfo, infer_imagenet_subset

    subset = infer_imagenet_subset(model)
    if not subset:
        return None
    info = ImageNetInfo(subset)
    descriptions = [info.index_to_description(i) for i in range(model.num_classes)]
    return [d.split(",")[0].strip() for d in descriptions], descriptions


WORDNET_ID = re.compile(r"n\d{8}")


@functools.cache
def imagenet_synsets() -> tuple[str, ...]:
    """ImageNet-1k's WordNet ids (n01440764, ...) in class order, from timm's own list, read without importing
    timm (and torch with it); () where timm is not installed."""
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        return ()
    path = Path(spec.submodule_search_locations[0]) / "data" / "_info" / "imagenet_synsets.txt"
    try:
        return tuple(line.strip() for line in path.read_text().splitlines() if line.strip())
    except OSError:
        return ()


def _hash_state(model) -> str:
    digest = hashlib.sha256()
    for key, tensor in model.state_dict().items():
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


@dataclass
class Classifier:
    """A loaded model, shareable between sessions: prediction keeps no per-call state.

    With the fast path, the PyTorch model itself is loaded only when something
    needs it (eager prediction, activation maps): a start from the export cache
    classifies without importing torch.
    """

    name: str
    title: str
    labels: list[str]
    descriptions: list[str]
    weights_hash: str
    data_config: dict
    fast: object = field(default=None, repr=False)  # an ONNX Runtime runner, or None for eager PyTorch
    slow_path: str | None = None  # why classification runs on eager PyTorch although the fast path was wanted
    _model: object = field(default=None, repr=False)
    _load_model: Callable[[], object] | None = field(default=None, repr=False)
    _model_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _transforms: dict = field(default_factory=dict, repr=False)

    @property
    def model(self):
        with self._model_lock:
            if self._model is None:
                self._model = self._load_model().eval().to(pick_device())
            return self._model

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def transform(self, mode: str):
        if mode not in PREPROCESS_MODES:
            raise ICError(f"Preprocessing {mode!r} is unknown; use one of {', '.join(PREPROCESS_MODES)}.")
        if mode not in self._transforms:
            from timm.data import create_transform

            config = dict(self.data_config)
            if mode == "squash":
                config.update(crop_mode="squash", crop_pct=1.0)
            self._transforms[mode] = create_transform(**config)
        return self._transforms[mode]

    def input_tensor(self, images: Sequence[np.ndarray], mode: str = "squash"):
        import torch

        transform = self.transform(mode)
        return torch.stack([transform(Image.fromarray(image)) for image in images])

    def predict(self, images: Sequence[np.ndarray], mode: str = "squash") -> np.ndarray:
        """RGB uint8 images to class probabilities, shape (N, num_classes)."""
        if len(images) > MAX_BATCH:
            return np.concatenate([self.predict(images[i:i + MAX_BATCH], mode)
                                   for i in range(0, len(images), MAX_BATCH)])
        if self.fast is not None:
            resize = self._fast_input(mode)
            if resize is not None:
                pixels = np.stack([resize(image) for image in images])
                with slot():
                    return self.fast(pixels)
        return self.predict_eager(images, mode)

    def predict_eager(self, images: Sequence[np.ndarray], mode: str = "squash") -> np.ndarray:
        """The same with timm eager PyTorch: the reference the fast path is checked against."""
        import torch

        batch = self.input_tensor(images, mode).to(pick_device())
        with slot(), torch.inference_mode():
            return self.model(batch).softmax(-1).float().cpu().numpy()

    def predict_normalised(self, inputs: np.ndarray) -> np.ndarray:
        """Inputs already at the model's size and normalised, (N, H, W, 3) floats, as RISE's evaluation feeds
        its frames: probabilities (N, num_classes), by the PyTorch model (the fast path takes 8-bit pixels, and
        rounding RISE's blurred start to them moved coffee.png's insertion AUC by 0.03)."""
        import torch

        batch = torch.from_numpy(np.ascontiguousarray(np.asarray(inputs, np.float32).transpose(0, 3, 1, 2)))
        with slot(), torch.inference_mode():
            return self.model(batch.to(pick_device())).softmax(-1).float().cpu().numpy()

    def _fast_input(self, mode: str):
        """The fast path's resize for `mode`: PIL alone where it reproduces timm's, else timm's own PIL steps."""

        key = ("fast", mode)
        if key not in self._transforms:
            resize = fastpath.pil_preprocess(self.data_config, mode)
            if resize is None:
                parts = fastpath.split_transform(self.transform(mode))
                resize = (lambda image, steps=parts[0]: np.asarray(_apply(steps, image), dtype=np.uint8)) \
                    if parts else None
            self._transforms[key] = resize
        return self._transforms[key]

    def top_k(self, probs: np.ndarray, k: int = 5) -> list[dict]:
        order = np.argsort(-probs, kind="stable")[: max(1, min(k, self.num_classes))]
        return [{"index": int(i), "label": self.labels[i], "prob": float(probs[i])} for i in order]

    def class_index(self, spec: str | int) -> int:
        """A class from its index, its label, one of its synonyms or (for an ImageNet-1k model) its WordNet id
        (n01440764, as ImageNet's class folders are named); ambiguous labels are refused."""
        text = str(spec).strip()
        synsets = imagenet_synsets() if self.num_classes == 1000 and WORDNET_ID.fullmatch(text) else ()
        if text in synsets:
            return synsets.index(text)
        if text.lstrip("-").isdigit():
            index = int(text)
            if not 0 <= index < self.num_classes:
                raise ICError(f"Class index {index} is outside 0-{self.num_classes - 1}.")
            return index
        wanted = text.lower()
        matches = [i for i, label in enumerate(self.labels) if label.lower() == wanted]
        if not matches:
            matches = [i for i, description in enumerate(self.descriptions)
                       if wanted in (synonym.strip().lower() for synonym in description.split(","))]
        if len(matches) == 1:
            return matches[0]
        if matches:
            options = ", ".join(f"#{i} ({self.descriptions[i][:40]})" for i in matches)
            raise ICError(f"{text!r} names several classes: {options}; give the index instead.")
        raise ICError(f"{self.name} has no class called {text!r}; give a label such as "
                      f"{self.labels[0]!r} or a class index.")

    def crop_box(self, shape: tuple[int, int], mode: str = "squash") -> tuple[int, int, int, int]:
        """(top, left, bottom, right) of the part of an image of `shape` the classifier sees."""
        height, width = shape[:2]
        if mode == "squash":
            return 0, 0, height, width
        _, in_h, in_w = self.data_config["input_size"]
        # timm resizes the short side to input/crop_pct, then takes the input size from the centre.
        scale = min(height, width) / (min(in_h, in_w) / self.data_config["crop_pct"])
        crop_h, crop_w = min(height, round(in_h * scale)), min(width, round(in_w * scale))
        top, left = (height - crop_h) // 2, (width - crop_w) // 2
        return top, left, top + crop_h, left + crop_w


def _apply(steps, image: np.ndarray):

    picture = Image.fromarray(image)
    for step in steps:
        picture = step(picture)
    return picture


# What each classifier's load is doing now, whichever thread loads it (the server's preparation at start, or a
# visitor's page): a page waiting for it says the step rather than nothing.
_steps: dict[str, str] = {}


def _step(name: str, text: str, on_step: Callable[[str], None] | None) -> None:
    _steps[name] = text
    if on_step is not None:
        on_step(text)


def loading_step(name: str) -> str | None:
    """What the load of `name` in progress is doing ("loading the weights", ...), or None when none runs."""
    return _steps.get(name)


def exported(name: str) -> bool:
    """Whether `name` would load from the export cache, without torch or an export (a cheap look at the files)."""
    choice = file_choice(name)
    if choice is None or not fastpath.enabled() or not certainly_cpu():
        return False
    try:
        return fastpath.has_manifest(name, fastpath.fingerprint(*weights_files(choice)))
    except (OSError, Unavailable):
        return False


def _from_export_cache(name: str) -> Classifier | None:
    """A bundled or local classifier exported before, served by ONNX Runtime without importing torch or timm;
    the PyTorch model loads when first needed. None when anything is missing or an accelerator may be present."""

    choice = file_choice(name)
    if choice is None or not fastpath.enabled() or not certainly_cpu():
        return None
    try:
        found = fastpath.read_manifest(name, fastpath.fingerprint(*weights_files(choice)))
    except (OSError, Unavailable):
        return None
    if found is None:
        return None
    facts, runner = found
    config = {key: tuple(value) if isinstance(value, list) else value for key, value in facts["data_config"].items()}
    return Classifier(name=name, title=choice.title, labels=facts["labels"], descriptions=facts["descriptions"],
                      weights_hash=facts["weights_hash"], data_config=config, fast=runner,
                      _load_model=lambda: load_model(choice)[0])


def load_classifier(name: str = DEFAULT_MODEL, on_step: Callable[[str], None] | None = None) -> Classifier:
    """Load a registry name, saying each step to `on_step` (and to `loading_step`); errors a user can cause come
    as ICError/Unavailable with what to do. How long it took is kept for `usual_load_s`."""
    started = time.perf_counter()
    try:
        loaded = _load(name, on_step)
    finally:
        _steps.pop(name, None)
    _remember_load(name, time.perf_counter() - started)
    return loaded


def _load_times() -> Path:
    return fastpath.cache_dir() / "load-seconds.json"


def _remember_load(name: str, seconds: float) -> None:
    try:
        times = json.loads(_load_times().read_text()) if _load_times().exists() else {}
        times[name] = round(seconds, 1)
        _load_times().parent.mkdir(parents=True, exist_ok=True)
        _load_times().write_text(json.dumps(times))
    except (OSError, ValueError, TypeError, AttributeError):
        pass  # a cache folder we cannot write (or a file we cannot read): the page then names no time


def usual_load_s(name: str) -> float | None:
    """How long the last load of `name` on this machine took (None: never loaded here, or not known)."""
    try:
        found = json.loads(_load_times().read_text()).get(name)
    except (OSError, ValueError, AttributeError):
        return None
    return float(found) if isinstance(found, (int, float)) else None


def _load(name: str, on_step: Callable[[str], None] | None) -> Classifier:
    _step(name, "reading the prepared fast path", on_step)
    cached = _from_export_cache(name)
    if cached is not None:
        return cached
    _step(name, "starting PyTorch and timm", on_step)
    from timm.data import resolve_data_config

    choice = resolve_choice(name)
    _step(name, "loading the weights" if choice.group != "hub" else "loading the weights (the first time, from the "
          "Hugging Face hub)", on_step)
    model, labels = load_model(choice)
    model = model.eval().to(pick_device())
    imagenet = _imagenet_labels(model)
    if labels:
        descriptions = labels
    elif imagenet:
        labels, descriptions = imagenet
    else:
        labels = descriptions = [f"class {i}" for i in range(model.num_classes)]
    classifier = Classifier(
        name=name,
        title=choice.title,
        labels=labels,
        descriptions=descriptions,
        weights_hash=_hash_state(model),
        data_config=resolve_data_config(model=model),
        _model=model,
    )
    if pick_device().type == "cpu":
        _step(name, "preparing the fast path (an ONNX export, made once and kept)", on_step)
        classifier.fast, classifier.slow_path = fastpath.runner_for(
            name, classifier.weights_hash, model, classifier.transform("squash"),
            tuple(classifier.data_config["input_size"][1:]))
        files = weights_files(choice)
        if classifier.fast is not None and files:
            fastpath.write_manifest(name, fastpath.fingerprint(*files), classifier.fast, {
                "labels": labels, "descriptions": descriptions, "weights_hash": classifier.weights_hash,
                "data_config": classifier.data_config})
    return classifier


MAX_BATCH = 8  # larger batches run in chunks: eager memory stays bounded and other visitors get the slot between them


def get_classifier(name: str = DEFAULT_MODEL, on_step: Callable[[str], None] | None = None) -> Classifier:
    """The loaded classifier `name` from the process's model cache (ic.models), bounded to a few models; a
    cached one never waits for a load in progress. `on_step` hears what this call's load does."""
    return models().classifier(name, load_classifier, on_step)


def is_loaded(name: str) -> bool:
    return models().loaded(name)


def forget_loaded() -> None:
    """Empty the cache, so the next use loads afresh (after the export cache or the weights changed)."""
    models().forget_classifiers()
