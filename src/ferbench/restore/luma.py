"""Apply a per-image gray operation to gray faces directly and to the luma (Y of YCrCb) of RGB faces, so
contrast methods do not shift colours."""

from __future__ import annotations

from typing import Callable

import numpy as np


def map_luma(images: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    import cv2

    if images.ndim == 3:
        return np.stack([fn(np.ascontiguousarray(im)) for im in images])
    out = np.empty_like(images)
    for i, im in enumerate(images):
        ycc = cv2.cvtColor(im, cv2.COLOR_RGB2YCrCb)
        ycc[..., 0] = fn(np.ascontiguousarray(ycc[..., 0]))
        out[i] = cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)
    return out
