"""``downscale``: shrink by a factor (area filter) then enlarge back (bicubic): the low-resolution face a
distant camera gives, at the original size. Factor 6 leaves an 8-px face of a 48-px one."""

from __future__ import annotations

import numpy as np

from .registry import register_degradation


@register_degradation("downscale", levels=(1.5, 2.0, 3.0, 4.0, 6.0), unit="down-scaling factor",
                      description="Down-scale then up-scale (resolution loss)")
def downscale(image: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, round(w / factor)), max(1, round(h / factor))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
