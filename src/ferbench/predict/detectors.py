"""The face detectors ``predict`` can use, by name; each gives boxes and, when it has them, five landmarks."""

from __future__ import annotations

import numpy as np

from .detect import detect_faces

Found = list[tuple[tuple[int, int, int, int], "np.ndarray | None"]]  # (box, 5×2 landmarks or None), largest first


def _haar(gray: np.ndarray, rgb: np.ndarray, min_size: int) -> Found:
    return [(box, None) for box in detect_faces(gray, min_size=min_size)]


def _mtcnn(gray: np.ndarray, rgb: np.ndarray, min_size: int) -> Found:
    from .mtcnn import detect_mtcnn

    return [(d.box, d.landmarks) for d in detect_mtcnn(rgb, min_size) if min(d.box[2:]) >= min_size]


#: name -> detector(gray, rgb, min_size). MTCNN also gives landmarks, used to align the face.
DETECTORS = {"haar": _haar, "mtcnn": _mtcnn}
#: The default when installed, chosen by measurement (benchmarks/detectors.py; README "Face detection").
PREFERRED_DETECTOR = "mtcnn"


def resolve_detector(name: str) -> tuple[str, str | None]:
    """(detector, notice): ``auto`` is the preferred detector, or Haar with a notice when it is not installed."""
    import importlib.util

    if name != "auto":
        if name not in DETECTORS:
            raise ValueError(f"--detector {name!r}: expected auto, {', '.join(DETECTORS)}")
        return name, None
    if importlib.util.find_spec("facenet_pytorch") is None:
        return "haar", ("facenet-pytorch is not installed: detecting faces with the Haar cascade, without alignment "
                        "(pip install --no-deps facenet-pytorch==2.6.0 for MTCNN)")
    return PREFERRED_DETECTOR, None
