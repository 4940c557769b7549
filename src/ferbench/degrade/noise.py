"""``gaussian_noise``: additive Gaussian noise, standard deviation as a fraction of the 0-255 range
(ImageNet-C uses 0.08-0.38 on 224-px photos; these levels start lower, since 48-px faces carry less signal)."""

from __future__ import annotations

import numpy as np

from .registry import register_degradation


@register_degradation("gaussian_noise", levels=(0.04, 0.08, 0.12, 0.18, 0.26), unit="std, fraction of 255",
                      description="Additive Gaussian noise (sensor noise)")
def gaussian_noise(image: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    x = image.astype(np.float32) / 255.0 + rng.normal(0.0, std, size=image.shape).astype(np.float32)
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)
