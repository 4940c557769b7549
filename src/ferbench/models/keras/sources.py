"""The known Keras FER-2013 files (oarriaga/face_classification, MIT) and the package's copies of their graphs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GRAPHS_DIR = Path(__file__).parent / "graphs"
PRETRAINED_DIR = Path(__file__).resolve().parents[1] / "pretrained"
GENERIC = "keras_graph"  # the registered name for any other supported Keras classifier

REPO = "oarriaga/face_classification"
COMMIT = "b861d21b0e76ca5514cdeb5b56a689b7318584f4"
# Keras output i is FER-2013 emotion code i: the repository one-hot encodes the CSV's `emotion` column with
# pd.get_dummies, and src/utils/datasets.py get_labels('fer2013') names 0..6 angry..neutral.
LABELS_SOURCE = f"{REPO}@{COMMIT[:7]} src/utils/datasets.py get_labels('fer2013'): output i = FER-2013 code i"


@dataclass(frozen=True)
class KnownFile:
    name: str          # registered model name
    file: str          # file name in the repository
    repo_path: str
    sha256: str
    description: str


KNOWN: tuple[KnownFile, ...] = (
    KnownFile("mini_xception_64", "fer2013_mini_XCEPTION.102-0.66.hdf5",
              "trained_models/emotion_models/fer2013_mini_XCEPTION.102-0.66.hdf5",
              "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e",
              "mini-Xception, 64 px, 57k params (Arriaga et al. 2017; Keras import)"),
    KnownFile("mini_xception_48", "fer2013_mini_XCEPTION.119-0.65.hdf5",
              "trained_models/fer2013_mini_XCEPTION.119-0.65.hdf5",
              "c6100e8155bddd8d994d778b0caf8e0b412724fa6df8690e5517f1ff71f495cf",
              "mini-Xception variant, 48 px, 57k params (Arriaga et al.; Keras import)"),
    KnownFile("big_xception", "fer2013_big_XCEPTION.54-0.66.hdf5",
              "trained_models/fer2013_big_XCEPTION.54-0.66.hdf5",
              "2c7ed52bc381077b5099afdfa392efb754516db91575f3f8ea120e81bc55db37",
              "big-Xception, 64 px, 206k params (Arriaga et al.; Keras import)"),
)


def known_by_name(name: str) -> KnownFile | None:
    return next((k for k in KNOWN if k.name == name), None)


def known_by_sha256(digest: str) -> KnownFile | None:
    return next((k for k in KNOWN if k.sha256 == digest), None)


def packaged_graph(name: str) -> dict[str, Any] | None:
    """The layer graph of a known architecture, shipped so ``create_model(name)`` needs no HDF5 file."""
    path = GRAPHS_DIR / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def identify(graph: dict[str, Any], digest: str) -> str:
    """Registered name for a parsed graph: the known file with this hash, else a known architecture with the
    same graph (another checkpoint of it), else the generic name."""
    known = known_by_sha256(digest)
    if known is not None:
        return known.name
    return next((k.name for k in KNOWN if packaged_graph(k.name) == graph), GENERIC)
