"""OpenCV's classic diffusion inpainting: Telea's fast marching and Navier-Stokes."""

import cv2
import numpy as np

from ic.inpaint.base import Inpainter, register

RADIUS = 5


class _OpenCV(Inpainter):
    flag: int
    crop_margin = 2 * RADIUS + 8

    def forward(self, image: np.ndarray, mask: np.ndarray, seed: int) -> np.ndarray:
        return cv2.inpaint(image, mask.astype(np.uint8) * 255, RADIUS, self.flag)


@register
class Telea(_OpenCV):
    name = "telea"
    rank = 2
    title = "OpenCV Telea"
    description = "Fast marching diffusion (Telea 2004): instant, smooth, blurry in large holes."
    flag = cv2.INPAINT_TELEA


@register
class NavierStokes(_OpenCV):
    name = "ns"
    rank = 3
    title = "OpenCV Navier-Stokes"
    description = "Fluid-dynamics diffusion (Bertalmio 2001): instant, continues edges, blurry in large holes."
    flag = cv2.INPAINT_NS
