"""``gaussian_blur``: a Gaussian blur, sigma in pixels of a 48-px face (scaled with the image side)."""

from __future__ import annotations

import numpy as np

from .registry import register_degradation


@register_degradation("gaussian_blur", levels=(0.5, 0.75, 1.0, 1.5, 2.0), unit="sigma, px at 48 px",
                      description="Gaussian blur (defocus-like loss of detail)")
def gaussian_blur(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    import cv2

    s = sigma * image.shape[0] / 48.0
    return cv2.GaussianBlur(image, (0, 0), sigmaX=s, sigmaY=s, borderType=cv2.BORDER_REFLECT_101)
