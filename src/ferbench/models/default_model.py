"""The packaged default model: ``fernet_ensemble`` (see ``models/weights/MODEL_CARD.md``).

``ferbench eval`` and ``ferbench predict`` use it when no ``--model`` is given. Its files live in
``models/weights/``: the ensemble's JSON and the FERNet weights it names; the Xception members use the
MIT weights shipped in ``models/pretrained/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .ensemble import EnsemblePredictor, load_ensemble_file
from .factory import load_checkpoint_predictor
from .registry import DEFAULT_MODEL, register_model

WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_NAME = DEFAULT_MODEL
DEFAULT = WEIGHTS_DIR / "fernet_ensemble.json"
FERNET = WEIGHTS_DIR / "fernet.safetensors"


def _packaged(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"the packaged model file {path} is missing: reinstall ferbench, or pass "
                                "--model NAME (ferbench models list)")
    return path


def load(**options: Any) -> EnsemblePredictor:
    return load_ensemble_file(_packaged(DEFAULT), name=options.pop("name", DEFAULT_NAME), **options)


def load_fernet(**options: Any):
    return load_checkpoint_predictor(_packaged(FERNET), name=options.pop("name", "fernet"), **options)


def _load_packaged(name: str, weights: str | Path | None = None, **options: Any) -> EnsemblePredictor:
    if weights is None:
        return load(name=name, **options)
    return load_ensemble_file(weights, name=name, **options)


register_model(DEFAULT_MODEL, family="ensemble", predictor=_load_packaged,
               description="ferbench's packaged ensemble: three FERNets + big/mini-Xception, ten-view TTA")(_load_packaged)
