"""``low_contrast`` and ``low_brightness``: photometric degradations (ImageNet-C's contrast, and darkening)."""

from __future__ import annotations

import numpy as np

from .registry import register_degradation


@register_degradation("low_contrast", levels=(0.6, 0.45, 0.3, 0.2, 0.1), unit="contrast factor c",
                      description="Pull pixels towards the image mean: x -> (x - mean) * c + mean")
def low_contrast(image: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    x = image.astype(np.float32)
    mean = x.mean()
    return np.clip(np.rint((x - mean) * c + mean), 0, 255).astype(np.uint8)


@register_degradation("low_brightness", levels=(0.75, 0.6, 0.45, 0.3, 0.2), unit="brightness factor f",
                      description="Darken (under-exposure): x -> x * f")
def low_brightness(image: np.ndarray, f: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(np.rint(image.astype(np.float32) * f), 0, 255).astype(np.uint8)
