"""Torch predictors -> ONNX graphs (probabilities out, test-time augmentation inside), checked for parity.

:func:`to_onnx` serialises a :class:`TorchPredictor`; :func:`with_backend` turns any CNN-family predictor
(ensembles member by member) into ONNX Runtime or OpenVINO predictors in memory; :func:`parity` measures the largest
absolute difference between the two backends' probabilities on the same faces.
"""

from __future__ import annotations

import io
import json
import warnings
from typing import Any

import numpy as np
import torch

from ..cost import bf16_notice
from .onnx_predictor import METADATA_KEY, OnnxPredictor
from .openvino_predictor import OpenVinoBf16Predictor, OpenVinoPredictor
from .predictor import Predictor
from .torch_predictor import TorchPredictor, probabilities

#: backends that run an exported graph, named by the predictor class that runs it (each engine loads on first use)
_GRAPH_PREDICTORS = {cls.backend: cls for cls in (OnnxPredictor, OpenVinoPredictor, OpenVinoBf16Predictor)}
GRAPH_ENGINES = tuple(_GRAPH_PREDICTORS)
BACKENDS = ("torch", "torch-bf16", *GRAPH_ENGINES)
OPSET = 17


class ProbaModule(torch.nn.Module):
    """What the ONNX graph computes: the torch predictor's probabilities from its normalised input."""

    def __init__(self, module: torch.nn.Module, tta: str):
        super().__init__()
        self.module, self.tta = module, tta

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return probabilities(self.module, x, self.tta)


def to_onnx(predictor: TorchPredictor, extra_meta: dict[str, Any] | None = None) -> tuple[bytes, dict[str, Any]]:
    """(serialised ONNX model with a dynamic batch axis, its ferbench metadata)."""
    import onnx

    pre = predictor.config.preprocess
    module = ProbaModule(predictor.module, predictor.tta).cpu().eval()
    example = torch.zeros(2, pre.in_chans, pre.input_size, pre.input_size)
    buf = io.BytesIO()
    with warnings.catch_warnings():  # tracer warnings: shapes are constants of the fixed input size, on purpose
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (example,), buf, dynamo=False, opset_version=OPSET, input_names=["input"],
                          output_names=["probabilities"], dynamic_axes={"input": {0: "n"}, "probabilities": {0: "n"}})
    meta = {"format": 1, "name": predictor.name, "config": predictor.config.model_dump(mode="json"),
            "source": predictor.describe(), "cost": predictor.cost_info(), "quantization": None, **(extra_meta or {})}
    proto = onnx.load_from_string(buf.getvalue())
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(meta, default=str)
    return proto.SerializeToString(), meta


def check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        from ..registry import did_you_mean

        hint = did_you_mean(backend, BACKENDS, fallback=[b for b in BACKENDS if b.startswith(str(backend))])
        raise ValueError(f"backend {backend!r}: expected one of {', '.join(BACKENDS)}{hint}")


def with_backend(predictor: Predictor, backend: str, **options: Any) -> Predictor:
    """``predictor`` run by ``backend``: torch predictors are exported in memory, ensembles member by member;
    an exported graph moves between the graph engines."""
    check_backend(backend)
    threads = options.get("threads")
    if backend == "torch" or (isinstance(predictor, OnnxPredictor) and predictor.backend == backend
                              and threads in (None, predictor.threads)):
        return predictor
    if isinstance(predictor, OnnxPredictor):  # an ONNX file has no torch module to run in bf16
        if backend not in GRAPH_ENGINES:
            raise ValueError(f"model {predictor.name!r} is an ONNX graph: it runs on {', '.join(GRAPH_ENGINES)}, "
                             f"not {backend}")
        return graph_engine(backend)(predictor.model_bytes, predictor.meta, name=predictor.name, path=predictor.path,
                                     batch_size=predictor.batch_size, threads=threads or predictor.threads)
    members = getattr(predictor, "members", None)
    if members is not None:  # an ensemble (or fusion) of models: each member runs on the backend
        predictor.members = [with_backend(m, backend, **options) for m in members]
        return predictor
    if not isinstance(predictor, TorchPredictor):
        raise ValueError(f"model {predictor.name!r} cannot run on {backend}: only CNN-family models (torch modules "
                         "with a ferbench config) and their ensembles can")
    if backend == "torch-bf16":
        if options.get("threads"):
            torch.set_num_threads(int(options["threads"]))
        # one message for every member of an ensemble: Python shows a repeated warning once
        if notice := bf16_notice("inference on torch-bf16", "bfloat16", predictor.device.type):
            warnings.warn(f"{notice}; --backend torch runs float32", stacklevel=2)
        predictor.set_precision("bfloat16")
        return predictor
    data, meta = to_onnx(predictor)
    return graph_engine(backend)(data, meta, name=predictor.name, batch_size=predictor.batch_size, **options)


def graph_engine(backend: str) -> type[OnnxPredictor]:
    return _GRAPH_PREDICTORS[backend]


def parity(reference: Predictor, candidate: Predictor, images: np.ndarray, batch_size: int = 256) -> dict[str, Any]:
    """Largest |probability difference| and the share of faces given the same label (argmax), over ``images``."""
    diffs, agree = [], 0
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        a, b = reference.predict(batch), candidate.predict(batch)
        diffs.append(np.abs(a.proba - b.proba).max())
        agree += int((a.pred == b.pred).sum())
    return {"n": int(len(images)), "max_abs_softmax_diff": float(max(diffs)), "argmax_agreement": agree / len(images)}
