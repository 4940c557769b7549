"""The one inference interface every model implements, whatever its kind."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..emotions import EMOTIONS


@dataclass
class Prediction:
    """Outputs for a batch, classes in FER order.

    ``pred``: int64 class index, -1 when the model gave no usable answer (counted, never guessed).
    ``proba``: N×7 probabilities, rows of NaN where the model gives none (e.g. a free-text answer).
    ``raw``: optional raw outputs (generated text). ``extra``: per-batch accounting (tokens...).
    """

    pred: np.ndarray
    proba: np.ndarray
    raw: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_proba(cls, proba: np.ndarray, **kw: Any) -> "Prediction":
        proba = np.asarray(proba, dtype=np.float32)
        return cls(pred=proba.argmax(axis=1).astype(np.int64), proba=proba, **kw)


def summed_cost(infos: list[dict[str, Any]]) -> dict[str, Any]:
    """Parameters and FLOPs per image of models run together, when every one of them knows its own."""
    return {key: sum(i[key] for i in infos) for key in ("params", "flops_per_image")
            if all(isinstance(i.get(key), int) for i in infos)}


class Predictor(ABC):
    """Classifies uint8 face images (N×H×W gray or N×H×W×3 RGB) into the FER emotions."""

    name: str = "model"
    classes: tuple[str, ...] = EMOTIONS
    batch_size: int = 64

    @abstractmethod
    def predict(self, images: np.ndarray) -> Prediction: ...

    def describe(self) -> dict[str, Any]:
        """Everything that identifies this model for run.json and cache keys (name, weights hash, options)."""
        return {"name": self.name}

    def cost_info(self) -> dict[str, Any]:
        """Static cost: parameters, FLOPs per image, when known."""
        return {}
