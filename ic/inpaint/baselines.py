"""The infills interpretability papers compare against: blur and mean colour."""

import cv2
import numpy as np

from ic.inpaint.base import Inpainter, register

BLUR_SIGMA = 12.0


@register
class Blur(Inpainter):
    name = "blur"
    rank = 4
    baseline = True
    title = "Gaussian blur"
    description = "Strong Gaussian blur inside the mask: the classic perturbation baseline."
    crop_margin = int(3 * BLUR_SIGMA) + 1

    def forward(self, image: np.ndarray, mask: np.ndarray, seed: int) -> np.ndarray:
        return cv2.GaussianBlur(image, (0, 0), BLUR_SIGMA, borderType=cv2.BORDER_REFLECT)


@register
class Mean(Inpainter):
    name = "mean"
    rank = 5
    baseline = True
    title = "Mean colour"
    description = "The mean colour of the rest of the image: the 'grey out' baseline."
    crop_margin = None

    def forward(self, image: np.ndarray, mask: np.ndarray, seed: int) -> np.ndarray:
        rest = image[~mask] if not mask.all() else image.reshape(-1, 3)  # all removed: the image's own mean
        colour = rest.mean(axis=0).round().astype(np.uint8)
        return np.broadcast_to(colour, image.shape).copy()
