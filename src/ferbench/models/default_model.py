"""The packaged default model: FERNet weights shipped in ``models/weights/`` (see its MODEL_CARD.md).

``ferbench eval`` and ``ferbench predict`` use it when no ``--model`` is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT = WEIGHTS_DIR / "fernet.safetensors"


def load(**options: Any):
    from .torch_predictor import TorchPredictor

    if not DEFAULT.exists():
        raise FileNotFoundError(f"the packaged default model {DEFAULT} is missing: reinstall ferbench, or pass "
                                "--model NAME (ferbench models list)")
    return TorchPredictor.from_checkpoint(DEFAULT, name=options.pop("name", "fernet"), **options)
