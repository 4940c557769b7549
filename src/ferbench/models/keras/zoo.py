"""Registered Keras models: the three FER-2013 classifiers of face_classification, and any other Keras file.

``--weights`` may be the original ``.hdf5`` (converted in memory) or a ``.safetensors`` written by
``ferbench models import-keras``; without it, the copy shipped in ``ferbench/models/pretrained`` is used
when there is one.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable

from ..files import checkpoint_files
from ..registry import register_model
from .sources import GENERIC, KNOWN, PRETRAINED_DIR, REPO, known_by_name, packaged_graph

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _is_hdf5(path: Path) -> bool:
    if not path.is_file():
        return False
    with open(path, "rb") as fh:
        return fh.read(8) == HDF5_SIGNATURE


def load_keras_predictor(name: str, weights: str | Path | None = None, **options: Any):
    from ..factory import load_checkpoint_predictor
    from ..torch_predictor import TorchPredictor
    from .convert import import_keras

    if weights is None:
        packaged = PRETRAINED_DIR / f"{name}.safetensors"
        if packaged.exists():
            return load_checkpoint_predictor(packaged, expect_arch=name, **options)
        known = known_by_name(name)
        wanted = f"{known.file} from {REPO}" if known else "a Keras .hdf5 classifier"
        raise FileNotFoundError(f"model {name!r} has no packaged weights: pass --weights with {wanted}, "
                                "or a .safetensors from `ferbench models import-keras`")
    path = Path(weights)
    if _is_hdf5(path):
        module, config, _ = import_keras(path, expect=name)
        return TorchPredictor(module, config, name=name, weights_sha256=config.provenance["source_sha256"],
                              weights_path=str(path), **options)
    return load_checkpoint_predictor(path, expect_arch=name, **options)


def _builder(name: str) -> Callable[..., Any]:
    def build(num_classes: int = 7, in_chans: int | None = None, input_size: int | None = None,
              graph: dict | None = None, **kw: Any):
        from .graph import KerasGraph

        graph = graph or packaged_graph(name)
        if graph is None:
            raise ValueError(f"{name} needs graph= (the parsed Keras graph, stored in converted checkpoints)")
        height, _, chans = graph["input_shape"]
        asked = {"in_chans": (in_chans, chans), "input_size": (input_size, height)}
        wrong = {k: v for k, v in asked.items() if v[0] is not None and v[0] != v[1]}
        module = KerasGraph(graph)
        if module.num_classes != num_classes:
            wrong["num_classes"] = (num_classes, module.num_classes)
        if wrong:
            raise ValueError(f"{name}: the Keras graph fixes " + ", ".join(f"{k}={v[1]} (asked {v[0]})"
                                                                        for k, v in wrong.items()))
        return module

    build.__doc__ = f"The Keras graph of {name} as a torch module (logits out)."
    return build


for _known in KNOWN:
    register_model(_known.name, family="keras", description=_known.description, predictor=load_keras_predictor,
                   packaged_files=functools.partial(checkpoint_files, PRETRAINED_DIR / f"{_known.name}.safetensors"))(
        _builder(_known.name))
register_model(GENERIC, family="keras", predictor=load_keras_predictor,
               description="Any supported Keras HDF5 classifier (--weights FILE.hdf5)")(_builder(GENERIC))
