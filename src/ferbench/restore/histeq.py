"""``histeq``: global histogram equalisation (OpenCV ``equalizeHist``), on the luma of RGB input."""

from __future__ import annotations

import numpy as np

from .base import Restorer
from .luma import map_luma
from .registry import register_restorer


@register_restorer("histeq", output="input", description="Global histogram equalisation")
class HistEq(Restorer):
    batch_size = 4096

    def _restore(self, images: np.ndarray) -> np.ndarray:
        import cv2

        return map_luma(images, cv2.equalizeHist)

    def libraries(self) -> dict[str, str]:
        import cv2

        return {"opencv": cv2.__version__}
