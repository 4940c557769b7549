"""The packaged default model: ``fernet_ensemble`` (see ``models/weights/MODEL_CARD.md``).

``ferbench eval`` and ``ferbench predict`` use it when no ``--model`` is given. Its files live in
``models/weights/``: the ensemble's JSON and the FERNet weights it names; the Xception members use the
MIT weights shipped in ``models/pretrained/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_NAME = "fernet_ensemble"
DEFAULT = WEIGHTS_DIR / "fernet_ensemble.json"
FERNET = WEIGHTS_DIR / "fernet.safetensors"


def _packaged(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"the packaged model file {path} is missing: reinstall ferbench, or pass "
                                "--model NAME (ferbench models list)")
    return path


def load(**options: Any):
    from .ensemble import load_ensemble_file

    return load_ensemble_file(_packaged(DEFAULT), name=options.pop("name", DEFAULT_NAME), **options)


def load_fernet(**options: Any):
    from .torch_predictor import TorchPredictor

    return TorchPredictor.from_checkpoint(_packaged(FERNET), name=options.pop("name", "fernet"), **options)
