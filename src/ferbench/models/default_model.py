"""The packaged models (see ``models/weights/MODEL_CARD.md``): ``registry.DEFAULT_MODEL`` is the one ``ferbench eval``,
``predict`` and ``serve`` use when no ``--model`` is given.

Their files live in ``models/weights/``: single-network checkpoints (``PACKAGED``) and the ensemble's JSON, whose
Xception members use the MIT weights shipped in ``models/pretrained/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .ensemble import EnsemblePredictor, load_ensemble_file
from .factory import create_model, load_checkpoint_predictor
from .files import checkpoint_files, ensemble_files
from .registry import register_model

WEIGHTS_DIR = Path(__file__).parent / "weights"
FERNET = WEIGHTS_DIR / "fernet.safetensors"

#: Packaged ensembles (name: JSON file in ``weights/``, description).
ENSEMBLES = {
    "fernet_ensemble": ("fernet_ensemble.json",
                        "ferbench's packaged ensemble: three FERNets + big/mini-Xception, ten-view TTA (~7 faces/s)"),
    "fernet_trio": ("fernet_trio.json",
                    "fernet_kd2 + big/mini-Xception, no TTA: the ensemble's accuracy at 17x its speed (~100 "
                    "faces/s)"),
}
ENSEMBLE = WEIGHTS_DIR / ENSEMBLES["fernet_ensemble"][0]

#: Packaged single networks trained by ``ferbench train`` (name: file, architecture, description). ``fernet`` is
#: registered with its architecture in ``fernet.py``.
PACKAGED = {
    "fernet_robust": ("fernet_robust.safetensors", "fernet",
                      ("FERNet trained with degradation-aware training (noise, JPEG, downscale, low contrast) "
                       "and distillation; for low-quality faces (packaged weights)")),
    "fernet_kd": ("fernet_kd.safetensors", "fernet",
                  ("FERNet trained with distillation from fernet_ensemble and per-face standardization; the "
                   "clean twin of fernet_robust (packaged weights)")),
    "fernet_kd2": ("fernet_kd2.safetensors", "fernet",
                   ("fernet_kd trained again for a second, shorter cosine cycle, a warm restart (packaged "
                    "weights)")),
    "fernet_robust2": ("fernet_robust2.safetensors", "fernet",
                       ("fernet_kd2 fine-tuned with degradation-aware training (noise, JPEG, downscale, low "
                        "contrast); for low-quality faces (packaged weights)")),
}


def _packaged(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"the packaged model file {path} is missing: reinstall ferbench, or pass "
                                "--model NAME (ferbench models list)")
    return path


def load_packaged(name: str, filename: str, arch: str, weights: str | Path | None = None, **options: Any):
    """The packaged checkpoint ``filename`` as model ``name``, or another ``arch`` checkpoint given as ``weights``."""
    path = _packaged(WEIGHTS_DIR / filename) if weights is None else weights
    return load_checkpoint_predictor(path, expect_arch=arch, name=options.pop("name", name), **options)


def _register_ensemble(name: str, filename: str, description: str) -> None:
    path = WEIGHTS_DIR / filename

    def load(name: str, weights: str | Path | None = None, **options: Any) -> EnsemblePredictor:
        return load_ensemble_file(_packaged(path) if weights is None else weights, name=name, **options)

    register_model(name, family="ensemble", predictor=load, packaged_files=lambda: ensemble_files(path),
                   description=description)(load)


for _name, (_file, _description) in ENSEMBLES.items():
    _register_ensemble(_name, _file, _description)


def packaged_entry(filename: str, arch: str) -> dict[str, Any]:
    """The registry fields of a packaged ``arch`` checkpoint: its loader (``weights`` replaces the packaged file)
    and the files that identify it."""
    def load(name: str, weights: str | Path | None = None, **options: Any):
        return load_packaged(name, filename, arch, weights, **options)

    return {"predictor": load, "packaged_files": lambda: checkpoint_files(WEIGHTS_DIR / filename)}


def _register_packaged(name: str, filename: str, arch: str, description: str) -> None:
    def build(**kwargs: Any):  # the architecture, for training or export from another checkpoint
        return create_model(arch, **kwargs)

    register_model(name, family="cnn", description=description, **packaged_entry(filename, arch))(build)


for _name, (_file, _arch, _description) in PACKAGED.items():
    _register_packaged(_name, _file, _arch, _description)
