"""The registry of map methods. Each method registers itself where it is defined (ic/explain/methods.py, with
@register), as timm registers its models; the CLI's --method choices, the page's list, History's drawing and the
estimates read REGISTRY. This module imports none of the methods' machinery, so maps.py and cost.py can read the
registry without an import circle."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ic.errors import ICError


class MapMethod:
    name: str = ""
    title: str = ""
    signed: bool = False  # values are signed drops about 0 (colours diverge), not weights in 0..1
    uses_infill: bool = False  # removes grid cells with an inpainter: the grid and the infill are its own
    cam: bool = False  # a class activation map (reads a layer of the model; Score-CAM's cost, refusals)

    @property
    def smooth(self) -> bool:
        """Drawn smoothly back over the image (a CAM), or as blocks of grid cells (a cell-wise map)."""
        return not self.uses_infill

    def compute(self, classifier, image: np.ndarray, class_index: int, *, grid: int, infill, preprocess: str,
                progress: Callable[[float], None] | None = None, cancelled: Callable[[], bool] | None = None):
        """The map (an ic.explain.maps.Explanation) of `class_index` over `image`."""
        raise NotImplementedError

    def seconds(self, classifier, grid: int, infill) -> float:
        """What one map takes here, from measured rates (ic.explain.cost)."""
        raise NotImplementedError

    def scale(self, values: np.ndarray) -> tuple[float, float]:
        """The range its colours span: 0..1, or symmetric about 0 for a signed map."""
        if not self.signed:
            return 0.0, 1.0
        largest = float(np.abs(values).max()) if np.size(values) else 0.0
        largest = max(largest, 1e-3)  # a flat map still gets a legend
        return -largest, largest


REGISTRY: dict[str, MapMethod] = {}  # name -> method, in the order the methods are defined (the page's order)


def register(cls: type[MapMethod]) -> type[MapMethod]:
    """Add one instance of the class to REGISTRY, under its name."""
    method = cls()
    if not method.name or method.name in REGISTRY:
        raise ValueError(f"a map method needs a name of its own, not {method.name!r}")
    REGISTRY[method.name] = method
    return cls


def map_method(name: str) -> MapMethod:
    """The method called `name`, or an ICError that lists the valid ones."""
    found = REGISTRY.get(name)
    if found is None:
        raise ICError(f"There is no map called {name!r}; choose one of {', '.join(REGISTRY)}.")
    return found


def cam_method(name: str) -> MapMethod:
    """The class activation map called `name`, or an ICError that lists them."""
    found = REGISTRY.get(name)
    if found is None or not found.cam:
        cams = ", ".join(method for method, known in REGISTRY.items() if known.cam)
        raise ICError(f"Unknown map method {name!r}; choose one of {cams}.")
    return found
