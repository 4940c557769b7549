"""The packaged default model (used when no --model is given)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

WEIGHTS_DIR = Path(__file__).parent / "weights"


def load(**options: Any):
    from .torch_predictor import TorchPredictor

    candidates = sorted(WEIGHTS_DIR.glob("*.safetensors")) if WEIGHTS_DIR.exists() else []
    if not candidates:
        raise FileNotFoundError("no packaged default model yet: pass --model NAME --checkpoint PATH")
    return TorchPredictor.from_checkpoint(candidates[0], **options)
