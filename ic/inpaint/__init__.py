"""Inpainting methods: a registry from name to class, one shared instance per method (kept by ic.models).

Every module in this package is imported here, and each method registers itself where it is defined
(`@register`, into REGISTRY, an ic.registry.Registry as map methods and bundled classifiers have): a new method
is one module in ic/inpaint/ and its test. `rank` orders the page's list (the most faithful first).
"""

from __future__ import annotations

import importlib
import pkgutil

from ic.errors import ICError
from ic.inpaint.base import REGISTRY, Inpainter
from ic.models import models

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

REGISTRY.ordered(key=lambda cls: cls.rank)
FALLBACK = "patchmatch"


def get_inpainter(name: str) -> Inpainter:
    """The shared instance of a method (safe to share: methods keep no per-call state)."""
    return models().instance(("inpainter", name), REGISTRY.get_or_refuse(name))


def baselines() -> tuple[str, ...]:
    """The methods that may replace a whole background (a perturbation baseline, not an invention)."""
    return tuple(name for name, cls in REGISTRY.items() if cls.baseline)


def default_inpainter_name() -> str:
    """LaMa when its weights are present, else PatchMatch."""
    return "lama" if get_inpainter("lama").available()[0] else FALLBACK


def resolve_inpainter(name: str) -> tuple[Inpainter, str | None]:
    """The method to use for `name`: itself when it can run, else the first fallback that can.

    The second value is None, or a sentence saying why another method is used.
    """
    requested = get_inpainter(name)
    ok, reason = requested.available()
    if ok:
        return requested, None
    for fallback in (FALLBACK, "telea"):
        method = get_inpainter(fallback)
        if method.available()[0]:
            return method, f"{reason} Using {method.title} instead."
    raise ICError(f"{reason} No fallback inpainter can run either; reinstall with pip install -r requirements.txt.")


def list_inpainters() -> list[dict]:
    rows = []
    for name in REGISTRY:
        method = get_inpainter(name)
        ok, reason = method.available()
        rows.append({
            "name": name,
            "title": method.title,
            "available": ok,
            "reason": reason,
            "slow": method.slow,
            "description": method.description,
            "baseline": method.baseline,
            "weights_mb": method.weights_mb,
        })
    return rows


__all__ = ["Inpainter", "REGISTRY", "baselines", "get_inpainter", "default_inpainter_name", "list_inpainters", "resolve_inpainter"]
