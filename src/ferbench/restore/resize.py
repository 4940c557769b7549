"""``resize``: plain interpolation to the requested size, with a chosen kernel (bicubic or Lanczos)."""

from __future__ import annotations

from typing import Literal

import numpy as np

from .base import Restorer, RestorerParams, resize_batch
from .registry import register_restorer

_KERNELS = {"bicubic": "INTER_CUBIC", "lanczos": "INTER_LANCZOS4", "bilinear": "INTER_LINEAR",
            "area": "INTER_AREA", "nearest": "INTER_NEAREST"}


@register_restorer("resize", output="input",
                   description="Interpolate to --size with a chosen kernel (bicubic, lanczos, ...); at the input "
                               "size it changes nothing")
class Resize(Restorer):
    class Params(RestorerParams):
        method: Literal["bicubic", "lanczos", "bilinear", "area", "nearest"] = "bicubic"

    batch_size = 4096

    def _restore(self, images: np.ndarray) -> np.ndarray:
        return images  # all the work is the final resize, done with this restorer's kernel

    def _final_resize(self, images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        import cv2

        return resize_batch(images, size, interpolation=getattr(cv2, _KERNELS[self.params.method]))

    def libraries(self) -> dict[str, str]:
        import cv2

        return {"opencv": cv2.__version__}
