"""Read a Keras 2 full-model HDF5 file with h5py alone (no TensorFlow): its graph JSON and weight arrays.

``model.save(path)`` in Keras 2.x (TensorFlow backend) writes: root attributes ``model_config`` (the JSON
of the functional graph), ``keras_version`` and ``backend``; a group ``model_weights`` with one sub-group per
layer whose attribute ``weight_names`` lists that layer's datasets (``conv2d_1_1/kernel:0``...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class KerasImportError(ValueError):
    """A Keras file ferbench cannot import, naming the file, the layer (when there is one) and the problem."""

    def __init__(self, path: str | Path, problem: str, layer: str | None = None):
        where = f"{path}: layer {layer!r}: " if layer else f"{path}: "
        super().__init__(where + problem)


@dataclass
class KerasFile:
    path: Path
    model_config: dict               # the raw ``model_config`` JSON, as Keras wrote it
    weights: dict[str, dict[str, np.ndarray]]  # layer name -> {"kernel": array, "bias": ..., "gamma": ...}
    keras_version: str
    backend: str


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_keras_hdf5(path: str | Path) -> KerasFile:
    import h5py

    path = Path(path)
    if not path.exists():
        raise KerasImportError(path, "no such file")
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise KerasImportError(path, f"not an HDF5 file ({exc})") from None
    with fh:
        if "model_config" not in fh.attrs:
            raise KerasImportError(path, "no 'model_config' attribute: this holds weights only "
                                   "(model.save_weights); a full model saved with model.save is needed")
        try:
            config = json.loads(_text(fh.attrs["model_config"]))
        except ValueError as exc:
            raise KerasImportError(path, f"'model_config' is not valid JSON ({exc})") from None
        root = fh["model_weights"] if "model_weights" in fh else fh
        weights = {}
        for layer in (_text(n) for n in root.attrs.get("layer_names", [])):
            group = root[layer]
            arrays: dict[str, np.ndarray] = {}
            for full in (_text(n) for n in group.attrs.get("weight_names", [])):
                key = full.rsplit("/", 1)[-1].split(":", 1)[0]  # "conv2d_1_1/kernel:0" -> "kernel"
                if key in arrays:
                    raise KerasImportError(path, f"two weights named {key!r}", layer)
                arrays[key] = np.asarray(group[full], dtype=np.float32)
            weights[layer] = arrays
        return KerasFile(path, config, weights, _text(fh.attrs.get("keras_version", "?")),
                         _text(fh.attrs.get("backend", "?")))
