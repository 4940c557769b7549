"""Keras HDF5 -> (torch module, :class:`ModelConfig`): weight layouts, preprocessing, labels, provenance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...emotions import EMOTIONS
from ...utils.io import sha256_file
from ..config import ModelConfig, Preprocess
from .graph import KerasGraph
from .hdf5 import KerasFile, KerasImportError, read_keras_hdf5
from .sources import COMMIT, GENERIC, LABELS_SOURCE, REPO, identify, known_by_sha256

# Which Keras weights each layer type needs, and how each lands in torch (NCHW / OIHW layouts).
_LAYOUT = {
    "Conv2D": {"kernel": ("weight", lambda k: k.transpose(3, 2, 0, 1)), "bias": ("bias", None)},  # HWIO -> OIHW
    "SeparableConv2D": {
        # H×W×C×M -> (C·M)×1×H×W: torch's grouped output channel c·M + m is TensorFlow's depthwise order
        "depthwise_kernel": ("depthwise.weight", lambda k: k.reshape(*k.shape[:2], -1).transpose(2, 0, 1)[:, None]),
        "pointwise_kernel": ("pointwise.weight", lambda k: k.transpose(3, 2, 0, 1)),
        "bias": ("pointwise.bias", None),
    },
    "BatchNormalization": {"gamma": ("weight", None), "beta": ("bias", None), "moving_mean": ("running_mean", None),
                           "moving_variance": ("running_var", None)},
}

# Keras leaves these arrays out when the setting is False.
_SWITCHES = {"bias": "use_bias", "gamma": "scale", "beta": "center"}


def torch_state(module: KerasGraph, kf: KerasFile) -> dict[str, torch.Tensor]:
    """The module's state dict filled from the Keras arrays; every expected array must exist with its shape."""
    state = module.state_dict()
    for spec in module.graph["layers"]:
        name, layout = spec["name"], _LAYOUT.get(spec["type"], {})
        arrays = kf.weights.get(name, {})
        extra = set(arrays) - set(layout)
        if extra:
            raise KerasImportError(kf.path, f"unexpected weights {sorted(extra)} for a {spec['type']}", name)
        for keras_key, (torch_key, to_torch) in layout.items():
            key = f"layers.{name}.{torch_key}"
            if keras_key not in arrays:
                switch = _SWITCHES.get(keras_key)
                if switch is None or spec["config"].get(switch, True):
                    raise KerasImportError(kf.path, f"missing weight {keras_key!r}", name)
                continue  # switched off in Keras: torch keeps its neutral default (weight 1 / bias 0)
            value = arrays[keras_key]
            value = np.ascontiguousarray(to_torch(value) if to_torch else value)
            if tuple(value.shape) != tuple(state[key].shape):
                raise KerasImportError(kf.path, f"{keras_key} has shape {arrays[keras_key].shape}, the graph "
                                       f"needs {tuple(state[key].shape)} after conversion", name)
            state[key] = torch.from_numpy(value)
    return state


def import_keras(path: str | Path, expect: str | None = None) -> tuple[KerasGraph, ModelConfig, KerasFile]:
    """Read, convert and describe a Keras classifier. ``expect``: refuse a file whose architecture is not this
    registered name (the generic name accepts any)."""
    from ... import __version__
    from .spec import parse_graph

    path = Path(path)
    kf = read_keras_hdf5(path)
    graph = parse_graph(kf.model_config, path)
    digest = sha256_file(path)
    arch = identify(graph, digest)
    if expect not in (None, GENERIC, arch):
        hint = f"the {arch} architecture" if arch != GENERIC else "another architecture"
        raise KerasImportError(path, f"holds {hint}, not {expect}; use --model {arch}")
    height, width, chans = graph["input_shape"]
    if height != width or chans not in (1, 3):
        raise KerasImportError(path, f"input {height}×{width}×{chans}: ferbench feeds square 1- or 3-channel faces")
    try:
        module = KerasGraph(graph)
    except ValueError as exc:
        raise KerasImportError(path, str(exc)) from None
    if module.num_classes != len(EMOTIONS):
        raise KerasImportError(path, f"{module.num_classes} outputs; expected the {len(EMOTIONS)} FER-2013 emotions")
    module.load_state_dict(torch_state(module, kf))
    module.eval()
    provenance: dict[str, Any] = {
        "source_file": path.name, "source_sha256": digest, "keras_version": kf.keras_version, "backend": kf.backend,
        "converter": f"ferbench {__version__} models import-keras", "labels": LABELS_SOURCE,
    }
    known = known_by_sha256(digest)
    if known is not None:
        provenance.update(source=f"{REPO}@{COMMIT}:{known.repo_path}", license="MIT (the repository's LICENSE, "
                          "copied to ferbench/models/pretrained/LICENSE-face_classification.txt); trained on "
                          "FER-2013, whose own terms the code license does not cover")
    config = ModelConfig(
        arch=arch, num_classes=module.num_classes, labels=list(EMOTIONS),
        # face_classification: cv2.resize to the input size, x / 255, then (x - 0.5) * 2 == (x - 0.5) / 0.5
        preprocess=Preprocess(input_size=height, in_chans=chans, mean=[0.5] * chans, std=[0.5] * chans,
                              resize="cv2_bilinear"),
        arch_kwargs={"graph": graph}, provenance=provenance)
    return module, config, kf
