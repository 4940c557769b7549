"""``opencv_sr``: ESPCN, FSRCNN(-small) and LapSRN super-resolution through OpenCV's ``dnn_superres``.

The .pb files (TensorFlow frozen graphs, e.g. ``../shared/models/ESPCN_x4.pb``) are given with ``weights``;
the algorithm and scale are read from the file name (``ESPCN_x4.pb`` -> espcn ×4) unless given. These
networks work on the Y channel: ``dnn_superres`` converts BGR to YCrCb, runs Y/255 through the network and
upsamples Cr/Cb bicubically. A gray face is fed as BGR with equal channels (so Cr = Cb = 128 and only the
network's Y matters) and returned gray.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, Optional

import numpy as np

from ..utils.io import sha256_file
from .base import Restorer, RestorerParams
from .registry import register_restorer

_NAME = re.compile(r"^(ESPCN|FSRCNN-small|FSRCNN|LapSRN)_x(\d)\.pb$", re.IGNORECASE)
_ALGO = {"espcn": "espcn", "fsrcnn": "fsrcnn", "fsrcnn-small": "fsrcnn", "lapsrn": "lapsrn"}


@register_restorer("opencv_sr", output="input",
                   description="ESPCN/FSRCNN/LapSRN super-resolution (cv2.dnn_superres, a .pb file as --weights)")
class OpenCVSR(Restorer):
    class Params(RestorerParams):
        weights: str
        model: Optional[Literal["espcn", "fsrcnn", "fsrcnn-small", "lapsrn"]] = None
        scale: Optional[int] = None

    batch_size = 64

    def setup(self) -> None:
        import cv2

        if not hasattr(cv2, "dnn_superres"):
            raise ImportError("opencv_sr needs cv2.dnn_superres: install opencv-contrib-python-headless")
        path = Path(self.params.weights)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such .pb file (ESPCN_x4.pb, FSRCNN_x2.pb, LapSRN_x8.pb ...)")
        match = _NAME.match(path.name)
        model = self.params.model or (match.group(1).lower() if match else None)
        scale = self.params.scale or (int(match.group(2)) if match else None)
        if model is None or scale is None:
            raise ValueError(f"{path}: cannot tell the model and scale from the file name; give model=... scale=...")
        self.model, self.scale = model, scale
        self._sr = cv2.dnn_superres.DnnSuperResImpl_create()
        try:
            self._sr.readModel(str(path))
            self._sr.setModel(_ALGO[model], scale)
        except cv2.error as exc:
            raise ValueError(f"{path}: OpenCV cannot load it as a {model} x{scale} model: {exc}") from None
        self.weights_sha256 = sha256_file(path)

    def _restore(self, images: np.ndarray) -> np.ndarray:
        import cv2

        gray = images.ndim == 3
        out = []
        for im in images:
            bgr = cv2.cvtColor(im, cv2.COLOR_GRAY2BGR if gray else cv2.COLOR_RGB2BGR)
            up = self._sr.upsample(bgr)
            out.append(cv2.cvtColor(up, cv2.COLOR_BGR2GRAY if gray else cv2.COLOR_BGR2RGB))
        return np.stack(out)

    def key_params(self) -> dict:
        return {"model": self.model, "scale": self.scale}  # the file itself is keyed by its SHA-256

    def libraries(self) -> dict[str, str]:
        import cv2

        return {"opencv": cv2.__version__}
