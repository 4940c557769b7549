"""Face detection with OpenCV's Haar cascade (it ships inside opencv-python wheels: no download).

Large photos are searched at a reduced size (longest side ``DETECT_MAX_SIDE``) and boxes are mapped
back, so a 24-megapixel photo costs about what a 1280-px one does.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

DETECT_MAX_SIDE = 1280


@functools.lru_cache(maxsize=1)
def _cascade() -> cv2.CascadeClassifier:
    path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(f"OpenCV's Haar cascade is missing ({path}); install opencv-contrib-python-headless<5")
    return cascade


def detect_faces(gray: np.ndarray, min_size: int = 24, scale_factor: float = 1.1,
                 min_neighbors: int = 5) -> list[tuple[int, int, int, int]]:
    """Boxes (x, y, w, h) in ``gray``'s pixel coordinates, largest first."""
    h, w = gray.shape[:2]
    scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
    small = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA) \
        if scale < 1 else gray
    found = _cascade().detectMultiScale(cv2.equalizeHist(small), scaleFactor=scale_factor, minNeighbors=min_neighbors,
                                        minSize=(max(8, round(min_size * scale)),) * 2)
    boxes = [tuple(int(round(v / scale)) for v in box) for box in (found if len(found) else [])]
    boxes = [b for b in boxes if min(b[2], b[3]) >= min_size]  # the reduced-size search may round below it
    return sorted(boxes, key=lambda b: -b[2] * b[3])


def crop(gray: np.ndarray, box: tuple[int, int, int, int], margin: float = 0.0) -> np.ndarray:
    """The square-ish face crop, grown by ``margin`` × the box size on each side, clipped to the image."""
    x, y, w, h = box
    dx, dy = int(w * margin), int(h * margin)
    x0, y0 = max(0, x - dx), max(0, y - dy)
    x1, y1 = min(gray.shape[1], x + w + dx), min(gray.shape[0], y + h + dy)
    return gray[y0:y1, x0:x1]

