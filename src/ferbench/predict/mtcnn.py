"""MTCNN face detection with five landmarks (eyes, nose, mouth corners), from ``facenet-pytorch`` (MIT).

facenet-pytorch pins an old torch, so it is installed with ``--no-deps`` (scripts/setup.sh); only its network
classes and cascade code are used. Its pnet/rnet/onet ``.pt`` files are plain state dicts: they are read here
with ``torch.load(weights_only=True)`` (no pickled code runs), never by facenet's own loader.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .detect import DETECT_MAX_SIDE

THRESHOLDS = (0.6, 0.7, 0.7)  # facenet-pytorch's defaults for the three stages
PYRAMID_FACTOR = 0.709


@dataclass
class Detection:
    box: tuple[int, int, int, int]  # x, y, w, h
    landmarks: np.ndarray           # 5×2 (x, y): left eye, right eye, nose, left and right mouth corners
    score: float


def weights_dir() -> Path:
    spec = importlib.util.find_spec("facenet_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("--detector mtcnn needs facenet-pytorch: pip install --no-deps facenet-pytorch==2.6.0 "
                          "(scripts/setup.sh does)")
    return Path(spec.submodule_search_locations[0]) / "data"


def load_nets(directory: Path | None = None):
    """(pnet, rnet, onet) in eval mode, weights read as tensors only."""
    import torch
    from facenet_pytorch.models.mtcnn import ONet, PNet, RNet

    directory = directory or weights_dir()
    nets = []
    for cls, name in ((PNet, "pnet"), (RNet, "rnet"), (ONet, "onet")):
        path = directory / f"{name}.pt"
        if not path.is_file():
            raise FileNotFoundError(f"MTCNN weights {path} not found (reinstall facenet-pytorch)")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # pickled objects other than tensors are refused by weights_only
            raise ValueError(f"{path}: not a plain state dict ({exc}); refusing to run code from it") from None
        net = cls(pretrained=False)
        net.load_state_dict(state)
        nets.append(net.eval())
    return tuple(nets)


@functools.lru_cache(maxsize=1)
def _nets():
    return load_nets()


def detect_mtcnn(rgb: np.ndarray, min_size: int = 24) -> list[Detection]:
    """Faces in an RGB uint8 image, largest first. Large photos are searched at a reduced size."""
    import torch
    from facenet_pytorch.models.utils.detect_face import detect_face

    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    h, w = rgb.shape[:2]
    scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
    if scale < 1:
        import cv2

        rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    pnet, rnet, onet = _nets()
    with torch.inference_mode():
        boxes, points = detect_face(np.ascontiguousarray(rgb), max(12, min_size * scale), pnet, rnet, onet,
                                    list(THRESHOLDS), PYRAMID_FACTOR, "cpu")
    found = []
    for box, pts in zip(boxes[0], points[0]):
        x0, y0, x1, y1 = (float(v) / scale for v in box[:4])
        x0, y0 = max(0.0, x0), max(0.0, y0)
        found.append(Detection((round(x0), round(y0), round(min(x1, w) - x0), round(min(y1, h) - y0)),
                               np.asarray(pts, dtype=np.float64) / scale, float(box[4])))
    return sorted(found, key=lambda d: -d.box[2] * d.box[3])
