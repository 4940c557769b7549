"""``downscale``: shrink by a factor (area filter): the low-resolution face a distant camera gives. By default
it is enlarged back to the original size (bicubic), as most benchmarks do; ``keep_size=False`` (the study
runner's protocol) hands the small face itself to the restorer or model. Factor 6 leaves an 8-px face of a
48-px one."""

from __future__ import annotations

import numpy as np

from .registry import register_degradation


@register_degradation("downscale", levels=(1.5, 2.0, 3.0, 4.0, 6.0), unit="down-scaling factor", resizes=True,
                      description="Down-scale (resolution loss); then up-scale back unless keep_size=False")
def downscale(image: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    return cv2.resize(image, (max(1, round(w / factor)), max(1, round(h / factor))), interpolation=cv2.INTER_AREA)
