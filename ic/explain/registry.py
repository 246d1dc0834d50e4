"""The registry of map methods (an ic.registry.Registry, as inpainters and bundled classifiers have). Each method
registers itself where it is defined (ic/explain/methods.py, with @register), as timm registers its models; the
CLI's --method choices, the page's list, History's drawing and the estimates read REGISTRY. This module imports
none of the methods' machinery, so maps.py and cost.py can read the registry without an import circle."""

from __future__ import annotations

import numpy as np

from ic.registry import Registry
from ic.watch import UNWATCHED, Watch


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
                watch: Watch = UNWATCHED):
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


REGISTRY = Registry("map")  # name -> one instance of each method, in the order defined (the page's order)
METHODS = REGISTRY.titles()  # name -> title, as registered (a method defined later is in it too)
CAM_METHODS = REGISTRY.titles(lambda method: method.cam)


def register(cls: type[MapMethod]) -> type[MapMethod]:
    """Add one instance of the class to REGISTRY, under its name."""
    REGISTRY.register(cls())
    return cls


def map_method(name: str) -> MapMethod:
    """The method called `name`, or an ICError that lists the valid ones."""
    return REGISTRY.get_or_refuse(name)


def cam_method(name: str) -> MapMethod:
    """The class activation map called `name`, or an ICError that lists them."""
    return REGISTRY.get_or_refuse(name, keep=lambda method: method.cam)
