"""The registry of map methods: one small class per method, the way pytorch-grad-cam keeps one class per CAM.

A method says what it is (`name`, `title`), how its values read (`signed`: a drop about 0 rather than a
weight in 0..1; `smooth`: drawn smoothly or as blocks of cells), whether it removes cells with an inpainter
(`uses_infill`, and so takes a grid and an infill), computes its map (`compute`) and says beforehand what that
takes here (`seconds`). The CLI's --method choices, the page's list, History's rendering and the estimates all
come from REGISTRY: a new method is one class here, in REGISTRY, and its test.
"""

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


class _ActivationMap(MapMethod):
    cam = True
    gradients = True  # needs the input's gradient (Score-CAM does not)

    def engine(self):
        """The pytorch-grad-cam class that computes it."""
        raise NotImplementedError

    def make(self, model, layers, reshape, progress=None, cancelled=None):
        """The engine over `model` (a private copy), used as a context manager that removes its hooks."""
        return self.engine()(model=model, target_layers=layers, reshape_transform=reshape)

    def compute(self, classifier, image, class_index, *, grid, infill, preprocess, progress=None, cancelled=None):
        from ic.explain.maps import activation_map  # noqa: PLC0415 (maps.py and cost.py read this registry)

        return activation_map(classifier, image, class_index, self.name, preprocess, progress=progress,
                              cancelled=cancelled)

    def seconds(self, classifier, grid, infill) -> float:
        from ic.explain.cost import cam_s  # noqa: PLC0415 (maps.py and cost.py read this registry)

        return cam_s(classifier, self.name)


class GradCAM(_ActivationMap):
    name, title = "gradcam", "Grad-CAM"

    def engine(self):
        from pytorch_grad_cam import GradCAM as Engine

        return Engine


class GradCAMPlusPlus(_ActivationMap):
    name, title = "gradcampp", "Grad-CAM++"

    def engine(self):
        from pytorch_grad_cam import GradCAMPlusPlus as Engine

        return Engine


class ScoreCAM(_ActivationMap):
    """One forward pass per channel of the target layer, in batches (ic.explain.maps.score_cam)."""

    name, title = "scorecam", "Score-CAM"
    gradients = False

    def engine(self):
        from ic.explain.maps import score_cam  # noqa: PLC0415 (maps.py and cost.py read this registry)

        return score_cam()

    def make(self, model, layers, reshape, progress=None, cancelled=None):
        return self.engine()(model, layers, reshape, progress, cancelled)


class Occlusion(MapMethod):
    """Each grid cell removed on its own with an inpainter; the signed drop of the class's probability."""

    name, title = "occlusion", "Occlusion by inpainting"
    signed = uses_infill = True

    def compute(self, classifier, image, class_index, *, grid, infill, preprocess, progress=None, cancelled=None):
        from ic.explain.maps import occlusion_map  # noqa: PLC0415 (maps.py and cost.py read this registry)

        return occlusion_map(classifier, image, class_index, grid=grid, infill=infill, preprocess=preprocess,
                             cancelled=cancelled, progress=progress)

    def seconds(self, classifier, grid, infill) -> float:
        from ic.explain.cost import occlusion_s  # noqa: PLC0415 (maps.py and cost.py read this registry)

        return occlusion_s(classifier, infill, grid)


REGISTRY: dict[str, MapMethod] = {method.name: method for method in (GradCAM(), GradCAMPlusPlus(), ScoreCAM(),
                                                                     Occlusion())}
METHODS = {name: method.title for name, method in REGISTRY.items()}  # name -> title, in the page's order
CAM_METHODS = {name: method.title for name, method in REGISTRY.items() if method.cam}


def map_method(name: str) -> MapMethod:
    """The method called `name`, or an ICError that lists the valid ones."""
    found = REGISTRY.get(name)
    if found is None:
        raise ICError(f"There is no map called {name!r}; choose one of {', '.join(REGISTRY)}.")
    return found
