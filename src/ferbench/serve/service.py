"""What the server does with one uploaded image, without any web framework: decode it safely, then run the
predict pipeline (``ferbench.predict.pipeline.analyse``, the code behind ``ferbench predict``) and return the
very record ``ferbench predict --json`` prints for that image."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import numpy as np
from PIL import UnidentifiedImageError

from ..data.images import DEFAULT_MAX_PIXELS, ImageTooLarge
from ..models.predictor import Predictor
from ..predict.pipeline import INPUT_SIZE, Frame, analyse, load_image
from .batching import BatchingPredictor, Busy

DETECT_MODES = ("auto", "always", "never")


class InputError(ValueError):
    """A request the server refuses, with the HTTP status to answer and a message for the client."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class ServeConfig:
    max_upload_bytes: int = 20 * 1024 * 1024
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_batch: int = 32
    max_wait_s: float = 0.010
    max_queue: int = 256
    read_timeout_s: float = 30.0
    detector: str = "auto"  # as ferbench predict: MTCNN (aligned faces) when installed, else Haar


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS):
    """(gray, rgb) arrays of an uploaded image, or an InputError: 400 unreadable, 413 too many pixels (refused
    from the header by the one image decoder, before a pixel is decoded)."""
    if not data:
        raise InputError(400, "empty image: the request carried no image bytes")
    try:
        return load_image(io.BytesIO(data), max_pixels)
    except ImageTooLarge as exc:
        raise InputError(413, f"image too large: {exc}; this server accepts at most {max_pixels:,} pixels") from None
    except UnidentifiedImageError:
        raise InputError(400, "not an image: Pillow recognises no image format in these bytes") from None
    except Exception as exc:  # Pillow raises many kinds on garbage or truncated data: all mean "cannot read"
        raise InputError(400, f"cannot decode image ({type(exc).__name__}: {exc})") from None


def client_name(filename: str | None) -> str:
    """The name echoed as ``path``: the last component of the client's file name, never opened or joined."""
    name = PurePath((filename or "").replace("\\", "/")).name
    return name[:200] or "upload"


class PredictService:
    """One loaded model behind a batching queue; ``predict`` is called from request threads."""

    def __init__(self, predictor: Predictor, config: ServeConfig | None = None, card: dict[str, Any] | None = None):
        from ..predict.detectors import resolve_detector

        self.config = config or ServeConfig()
        self.detector, self.detector_notice = resolve_detector(self.config.detector)
        self.model = predictor
        self.card = card
        self.batcher = BatchingPredictor(predictor, max_batch=self.config.max_batch,
                                         max_wait_s=self.config.max_wait_s, max_queue=self.config.max_queue)

    def predict(self, data: bytes, detect: str = "auto", filename: str | None = None) -> dict[str, Any]:
        if detect not in DETECT_MODES:
            raise InputError(400, f"detect={detect!r}: expected one of {', '.join(DETECT_MODES)}")
        with self.batcher.arriving():
            gray, rgb = decode_image(data, self.config.max_pixels)
            try:
                frame = analyse(Frame(client_name(filename), gray, rgb), self.batcher, detect=detect,
                                detector=self.detector)
            except Busy as exc:
                raise InputError(503, str(exc)) from None
        return frame.record()

    def warm_up(self) -> None:
        """Run the detector and the model once on a blank frame, so the first client does not pay for lazy
        loading (MTCNN's weights, torch's first-call set-up: about 3 s on a 2-core CPU)."""
        from ..predict.detectors import DETECTORS

        blank = np.full((160, 160), 128, np.uint8)
        DETECTORS[self.detector](blank, np.repeat(blank[..., None], 3, axis=2), 20)
        self.model.predict(np.zeros((1, INPUT_SIZE, INPUT_SIZE), np.uint8))  # the size analyse() feeds it

    def close(self) -> None:
        self.batcher.close()

    def model_info(self) -> dict[str, Any]:
        """Name, classes, and the accuracy the model card measured (None unless the served model is a packaged
        one with its packaged weights: a user's weights have no card)."""
        card = self.card or {}
        cost = self.model.cost_info()
        return {"name": self.model.name, "classes": list(self.model.classes),
                "accuracy": card.get("accuracy"), "accuracy_ci95": card.get("accuracy_ci95"),
                "f1_macro": card.get("f1_macro"), "split": card.get("split"), "n": card.get("n"),
                "measured_by": card.get("command"),
                "params": cost.get("params"), "flops_per_image": cost.get("flops_per_image")}

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "model": self.model.name, "detector": self.detector, "waiting": self.batcher.waiting,
                **self.batcher.stats}


def load_service(model: str | None = None, weights: str | None = None, config: ServeConfig | None = None,
                 backend: str = "torch", **options: Any) -> PredictService:
    """Load a model once (the packaged default when neither is given) on ``backend`` and put it behind the
    batching queue. The model card's figures are shown only for packaged weights on PyTorch float32, which is
    what the card measured."""
    from ..models import load_predictor
    from ..models.card import card_result
    from ..models.registry import DEFAULT_MODEL

    predictor = load_predictor(model, weights, backend=backend, **options)
    card = card_result(model or DEFAULT_MODEL) if weights is None and backend == "torch" and not options else None
    service = PredictService(predictor, config, card)
    service.warm_up()
    return service
