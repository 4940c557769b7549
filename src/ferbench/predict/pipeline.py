"""Images, folders and videos in; per image (or video frame) a list of faces with box, label, probabilities."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import cv2
import numpy as np

from ..data.images import DEFAULT_MAX_PIXELS, decode_image, gray_and_rgb
from ..emotions import EMOTIONS
from .align import align_face
from .detect import crop
from .detectors import DETECTORS
from .inputs import VIDEO_SUFFIXES

FACE_CROP_MAX = 96  # images this small (both sides) are taken to be face crops already when detect="auto"
INPUT_SIZE = 48     # crops are resized to FER-2013's size before classification
#: Faces (detected boxes and whole-image crops) smaller than this on either side are refused, not classified:
#: below it an expression cannot be read, yet a model would still answer with confidence.
MIN_FACE = 24


@dataclass
class Frame:
    source: str
    gray: np.ndarray
    rgb: np.ndarray
    frame: int | None = None
    time_s: float | None = None
    error: str | None = None
    faces: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None

    def record(self) -> dict[str, Any]:
        rec: dict[str, Any] = {"path": self.source}
        if self.frame is not None:
            rec.update(frame=self.frame, time_s=round(self.time_s or 0.0, 3))
        if self.error:
            rec["error"] = self.error
            return rec
        rec.update(width=int(self.gray.shape[1]), height=int(self.gray.shape[0]), faces=self.faces)
        if self.message:
            rec["message"] = self.message
        return rec


def load_image(path: Path | BinaryIO, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, np.ndarray]:
    """(gray, rgb) uint8 arrays, decoded as every reader decodes images (:func:`ferbench.data.images.decode_image`)."""
    return gray_and_rgb(decode_image(path, max_pixels))


def frames(path: Path, every_s: float = 1.0) -> Iterator[Frame]:
    """One Frame per image, or one per ``every_s`` seconds of a video."""
    if path.suffix.lower() in VIDEO_SUFFIXES:
        yield from _video_frames(path, every_s)
        return
    try:
        gray, rgb = load_image(path)
    except Exception as exc:  # unreadable or too large: reported for this file, the others go on
        yield Frame(str(path), np.zeros((0, 0), np.uint8), np.zeros((0, 0, 3), np.uint8),
                    error=f"cannot read image: {exc}")
        return
    yield Frame(str(path), gray, rgb)


def _video_frames(path: Path, every_s: float) -> Iterator[Frame]:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        yield Frame(str(path), np.zeros((0, 0), np.uint8), np.zeros((0, 0, 3), np.uint8), error="cannot open video")
        return
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    step = max(1, int(round(fps * every_s)))
    index = 0
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            if index % step == 0:
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                yield Frame(str(path), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), rgb, frame=index, time_s=index / fps)
            index += 1
    finally:
        cap.release()


def analyse(frame: Frame, predictor: Any, detect: str = "auto", margin: float = 0.0,
            min_face: int = MIN_FACE, detector: str = "haar") -> Frame:
    """Detect faces (or take the whole image), classify every crop, fill ``frame.faces``. A whole image
    smaller than ``min_face`` on either side is refused (``frame.error``), never given an emotion.
    A detector giving landmarks (MTCNN) has each face aligned (eyes level, FER-2013 margins; ``margin``
    then does not apply); otherwise the box, grown by ``margin``, is resized."""
    if frame.error:
        return frame
    h, w = frame.gray.shape
    whole = detect == "never" or (detect == "auto" and h <= FACE_CROP_MAX and w <= FACE_CROP_MAX)
    if whole and min(h, w) < min_face:
        frame.error = f"image is {w}×{h} px, below the minimum face size of {min_face} px (--min-face)"
        return frame
    found = [((0, 0, w, h), None)] if whole else DETECTORS[detector](frame.gray, frame.rgb, min_face)
    if not found:
        frame.message = "no face found"
        return frame
    crops = np.stack([align_face(frame.gray, marks, INPUT_SIZE) if marks is not None else
                      cv2.resize(crop(frame.gray, box, margin), (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
                      for box, marks in found])
    p = predictor.predict(crops)
    for k, (box, marks) in enumerate(found):
        face = {"box": [int(v) for v in box], "label": EMOTIONS[p.pred[k]] if p.pred[k] >= 0 else None,
                "probabilities": {c: round(float(v), 4) for c, v in zip(EMOTIONS, p.proba[k])}}
        if whole:
            face["whole_image"] = True
        if marks is not None:
            face["landmarks"] = [[round(float(x), 1), round(float(y), 1)] for x, y in marks]
            face["aligned"] = True
        frame.faces.append(face)
    return frame


def annotate(frame: Frame, path: Path) -> None:
    """Write the frame with each face's box and label."""
    img = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR).copy()
    thick = max(1, round(max(img.shape[:2]) / 400))
    for face in frame.faces:
        x, y, w, h = face["box"]
        label = f"{face['label']} {face['probabilities'][face['label']]:.0%}" if face["label"] else "?"
        cv2.rectangle(img, (x, y), (x + w, y + h), (0, 200, 0), thick)
        cv2.putText(img, label, (x, max(12, y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thick, (0, 200, 0), thick)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img)
