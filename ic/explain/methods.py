"""The map methods, one class each, the way pytorch-grad-cam keeps one class per CAM: each says what it is
(`name`, `title`), how its values read (`signed`: a drop about 0 rather than a weight in 0..1; `smooth`: drawn
smoothly or as blocks of cells), whether it removes cells with an inpainter (`uses_infill`, and so takes a grid
and an infill), computes its map (`compute`, its math here) and says beforehand what that takes here (`seconds`).

Each registers itself where it is defined (@register, ic/explain/registry.py); the machinery they share, a CAM
over a private copy of the model and the occlusion baseline, is in ic/explain/maps.py. A new method is one class
here and its test.
"""

from __future__ import annotations

import numpy as np

from ic.compute import slot
from ic.explain import cost
from ic.explain.grid import cell_ids, cell_means, check_grid
from ic.explain.maps import BATCH, Explanation, cam, occlusion_baseline, to_image
from ic.explain.registry import REGISTRY, MapMethod, cam_method, map_method, register
from ic.watch import UNWATCHED, Watch

__all__ = ["REGISTRY", "MapMethod", "cam_method", "map_method"]


class _ActivationMap(MapMethod):
    cam = True
    gradients = True  # needs the input's gradient (Score-CAM does not)

    def engine(self):
        """The pytorch-grad-cam class that computes it."""
        raise NotImplementedError

    def make(self, model, layers, reshape, watch: Watch = UNWATCHED):
        """The engine over `model` (a private copy), used as a context manager that removes its hooks."""
        return self.engine()(model=model, target_layers=layers, reshape_transform=reshape)

    def compute(self, classifier, image, class_index, *, grid=None, infill=None, preprocess="squash",
                watch: Watch = UNWATCHED) -> Explanation:
        """The CAM of one class over `image`, placed back on it through the classifier's crop."""
        device = next(classifier.model.parameters()).device
        batch = classifier.input_tensor([image], preprocess).to(device)
        raw_range: list = []
        with slot():
            small = cam(classifier.model, batch, class_index, self, name=classifier.name, watch=watch,
                        keep_range=raw_range)
        heatmap = to_image(small, image.shape[:2], classifier.crop_box(image.shape, preprocess))
        prob = float(classifier.predict([image], preprocess)[0, class_index])
        return Explanation(self.name, class_index, classifier.labels[class_index], heatmap, prob=prob,
                           raw_range=tuple(raw_range) if raw_range else None)

    def seconds(self, classifier, grid, infill) -> float:
        return cost.cam_s(classifier, self.name)


@register
class GradCAM(_ActivationMap):
    name, title = "gradcam", "Grad-CAM"

    def engine(self):
        from pytorch_grad_cam import GradCAM as Engine

        return Engine


@register
class GradCAMPlusPlus(_ActivationMap):
    name, title = "gradcampp", "Grad-CAM++"

    def engine(self):
        from pytorch_grad_cam import GradCAMPlusPlus as Engine

        return Engine


@register
class ScoreCAM(_ActivationMap):
    """One forward pass per channel of the target layer, in batches built one at a time (never a C x 3 x H x W
    tensor), with real progress, stopping between batches when cancelled; its cost is estimated beforehand."""

    name, title = "scorecam", "Score-CAM"
    gradients = False

    def engine(self):
        """grad-cam's Score-CAM, batched, with progress and cancel."""
        import torch
        import torch.nn.functional as F
        from pytorch_grad_cam.base_cam import BaseCAM as base

        class Engine(base):
            def __init__(self, model, target_layers, reshape_transform, watch: Watch = UNWATCHED):
                super().__init__(model, target_layers, reshape_transform=reshape_transform, uses_gradients=False)
                self.watch = watch

            def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads):
                with torch.no_grad():
                    maps = torch.as_tensor(activations).to(self.device)
                    count, channels = maps.shape[:2]
                    scores = torch.zeros(count, channels)
                    for item, target in enumerate(targets):
                        for start in range(0, channels, BATCH):
                            self.watch.check()
                            part = F.interpolate(maps[item:item + 1, start:start + BATCH], size=input_tensor.shape[-2:],
                                                 mode="bilinear", align_corners=True)[0]
                            flat = part.flatten(1)
                            low, high = flat.min(1)[0], flat.max(1)[0]
                            part = (part - low[:, None, None]) / (high - low + 1e-8)[:, None, None]
                            outputs = self.model(input_tensor[item][None] * part[:, None])
                            scores[item, start:start + len(part)] = torch.stack([target(o) for o in outputs]).cpu()
                            self.watch.report(min(1.0, (item * channels + start + len(part)) / (count * channels)))
                    return torch.softmax(scores, dim=-1).numpy()

        return Engine

    def make(self, model, layers, reshape, watch: Watch = UNWATCHED):
        return self.engine()(model, layers, reshape, watch)


@register
class Occlusion(MapMethod):
    """Each grid cell removed on its own with an inpainter ("what does the model need?", after FIDO, Chang et al.
    2019), through Captum's FeatureAblation: the signed drop of the class's probability, positive where removing
    the cell lowers the class, negative where it raises it. Not rescaled: a class the model hardly sees gets a map
    of small numbers, not a full-scale map of noise."""

    name, title = "occlusion", "Occlusion by inpainting"
    signed = uses_infill = True

    def compute(self, classifier, image, class_index, *, grid, infill, preprocess="squash",
                watch: Watch = UNWATCHED, seed: int = 0) -> Explanation:
        """The signed drop of the class's probability when each cell is removed alone (a fraction in [-1, 1])."""
        import torch
        from captum.attr import FeatureAblation

        n = check_grid(grid)
        infill.prepare()
        baseline = occlusion_baseline(image, n, infill, seed)
        evaluations = {"done": 0, "total": n * n + 1, "prob": None}

        def forward(pixels: torch.Tensor) -> torch.Tensor:
            watch.check()
            images = [np.ascontiguousarray(p.permute(1, 2, 0).round().clamp(0, 255).byte().numpy()) for p in pixels]
            probs = classifier.predict(images, preprocess)
            if evaluations["prob"] is None:
                evaluations["prob"] = float(probs[0, class_index])  # Captum evaluates the unchanged image first
            evaluations["done"] += len(images)
            watch.report(min(1.0, evaluations["done"] / evaluations["total"]))
            return torch.from_numpy(probs)

        as_tensor = lambda array: torch.from_numpy(array).permute(2, 0, 1)[None].float()
        ids = cell_ids(image.shape[:2], n)
        feature_mask = torch.from_numpy(ids)[None, None]  # broadcast over the channels
        attribution = FeatureAblation(forward).attribute(
            as_tensor(image), baselines=as_tensor(baseline), target=class_index,
            feature_mask=feature_mask, perturbations_per_eval=BATCH)
        drops = np.clip(cell_means(attribution[0, 0].numpy(), n), -1, 1).astype(np.float32)
        heatmap = drops.ravel()[ids].astype(np.float32)
        return Explanation(self.name, class_index, classifier.labels[class_index], heatmap, drops, evaluations["prob"])

    def seconds(self, classifier, grid, infill) -> float:
        return cost.occlusion_s(classifier, infill, grid)

