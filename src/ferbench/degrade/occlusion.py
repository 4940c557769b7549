"""``occlusion``: a black square covering a fraction of the face, at a random (seeded) position."""

from __future__ import annotations

import math

import numpy as np

from .registry import register_degradation


@register_degradation("occlusion", levels=(0.05, 0.1, 0.2, 0.3, 0.4), unit="occluded fraction of the area",
                      description="A black square at a random position (hands, objects, masks)")
def occlusion(image: np.ndarray, area: float, rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape[:2]
    side = max(1, min(h, w, round(math.sqrt(area * h * w))))
    top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    out = image.copy()
    out[top:top + side, left:left + side] = 0
    return out
