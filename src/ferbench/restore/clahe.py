"""``clahe``: contrast-limited adaptive histogram equalisation (OpenCV), on the luma of RGB input."""

from __future__ import annotations

import numpy as np

from .base import Restorer, RestorerParams
from .registry import register_restorer
from .luma import map_luma


@register_restorer("clahe", output="input", description="Contrast-limited adaptive histogram equalisation")
class Clahe(Restorer):
    class Params(RestorerParams):
        clip_limit: float = 2.0
        tile_grid: int = 4  # tiles per side; 4 gives 12-px tiles on a 48-px face (OpenCV's default 8 gives 6 px)

    batch_size = 4096

    def setup(self) -> None:
        import cv2

        self._clahe = cv2.createCLAHE(clipLimit=self.params.clip_limit,
                                      tileGridSize=(self.params.tile_grid, self.params.tile_grid))

    def _restore(self, images: np.ndarray) -> np.ndarray:
        return map_luma(images, self._clahe.apply)

    def libraries(self) -> dict[str, str]:
        import cv2

        return {"opencv": cv2.__version__}
