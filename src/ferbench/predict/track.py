"""Steady labels on video: faces followed across frames by box overlap, probabilities averaged per face.

A per-frame classifier flickers between close classes (neutral/sad) from one frame to the next; users of
video expect one label per person that changes when the expression does. Each face is matched to the track
whose last box overlaps it most (IoU ≥ ``min_iou``, greedy, best pairs first); a track keeps an exponential
moving average of its probabilities (weight ``alpha`` for the new frame) and is dropped after ``max_missed``
frames without a face.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..emotions import EMOTIONS


def iou(a: list[int] | tuple[int, ...], b: list[int] | tuple[int, ...]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = w * h
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    id: int
    box: list[int]
    proba: np.ndarray
    missed: int = 0


class FaceTracker:
    def __init__(self, alpha: float = 0.3, min_iou: float = 0.3, max_missed: int = 5):
        if not 0 < alpha <= 1:
            raise ValueError(f"smoothing weight {alpha} must be in (0, 1]")
        self.alpha, self.min_iou, self.max_missed = alpha, min_iou, max_missed
        self.tracks: list[Track] = []
        self._next = 0

    def update(self, faces: list[dict[str, Any]]) -> None:
        """Adds ``track`` to each face; ``label``/``probabilities`` become the track's smoothed ones and the
        frame's own are kept as ``frame_label``/``frame_probabilities``."""
        pairs = sorted(((iou(t.box, f["box"]), ti, fi) for ti, t in enumerate(self.tracks)
                        for fi, f in enumerate(faces)), reverse=True)
        used_t, used_f, match = set(), set(), {}
        for overlap, ti, fi in pairs:
            if overlap >= self.min_iou and ti not in used_t and fi not in used_f:
                used_t.add(ti)
                used_f.add(fi)
                match[fi] = self.tracks[ti]
        for track in self.tracks:
            track.missed += 1
        for fi, face in enumerate(faces):
            proba = np.array([face["probabilities"][e] for e in EMOTIONS], dtype=np.float64)
            track = match.get(fi)
            if track is None or not np.isfinite(proba).all():
                track = Track(self._next, face["box"], proba)
                self._next += 1
                self.tracks.append(track)
            else:
                track.proba = (1 - self.alpha) * track.proba + self.alpha * proba
            track.box, track.missed = face["box"], 0
            face["frame_label"], face["frame_probabilities"] = face["label"], face["probabilities"]
            face["track"] = track.id
            if np.isfinite(track.proba).all():
                face["label"] = EMOTIONS[int(track.proba.argmax())]
                face["probabilities"] = {e: round(float(v), 4) for e, v in zip(EMOTIONS, track.proba)}
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
