"""``jpeg``: JPEG compression at a given quality (OpenCV's libjpeg encoder, then decoded)."""

from __future__ import annotations

import numpy as np

from .registry import register_degradation


@register_degradation("jpeg", levels=(50, 30, 20, 12, 7), unit="JPEG quality (lower is worse)",
                      description="JPEG compression artefacts")
def jpeg(image: np.ndarray, quality: float, rng: np.random.Generator) -> np.ndarray:
    import cv2

    color = image.ndim == 3
    src = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if color else image
    ok, buf = cv2.imencode(".jpg", src, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    out = cv2.imdecode(buf, cv2.IMREAD_COLOR if color else cv2.IMREAD_GRAYSCALE)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB) if color else out
