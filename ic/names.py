"""One name for each model and inpainter wherever a person reads it: the registries' titles ("EfficientNet-Lite0",
"OpenCV Telea"); the ids ("tf_efficientnet_lite0", "telea") stay in files and commands."""

from functools import cache

from ic.classifiers.registry import list_choices
from ic.inpaint import list_inpainters


def model_title(name: str) -> str:
    """A classifier's title without where it comes from; a timm name typed in, or one no longer offered, is its own."""
    return next((choice.short_title for choice in list_choices() if choice.name == name), name)


@cache
def _inpainter_titles() -> dict[str, str]:
    return {row["name"]: row["title"] for row in list_inpainters()}


def inpainter_title(name: str) -> str:
    return _inpainter_titles().get(name, name)
