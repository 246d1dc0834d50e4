"""Inpainting methods: a registry from name to class, one shared instance per method."""

from __future__ import annotations

import threading

from ic.errors import ICError
from ic.inpaint.base import Inpainter
from ic.inpaint.baselines import Blur, Mean
from ic.inpaint.lama import LaMa
from ic.inpaint.opencv import NavierStokes, Telea
from ic.inpaint.patchmatch import PatchMatch

REGISTRY: dict[str, type[Inpainter]] = {
    cls.name: cls for cls in (LaMa, PatchMatch, Telea, NavierStokes, Blur, Mean)
}
FALLBACK = "patchmatch"

_instances: dict[str, Inpainter] = {}
_instances_lock = threading.Lock()


def get_inpainter(name: str) -> Inpainter:
    """The shared instance of a method (safe to share: methods keep no per-call state)."""
    if name not in REGISTRY:
        raise ICError(f"There is no inpainter called {name!r}; choose one of: {', '.join(REGISTRY)}.")
    with _instances_lock:
        if name not in _instances:
            _instances[name] = REGISTRY[name]()
        return _instances[name]


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
        })
    return rows


__all__ = ["Inpainter", "REGISTRY", "get_inpainter", "default_inpainter_name", "list_inpainters", "resolve_inpainter"]
