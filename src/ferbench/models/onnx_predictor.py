"""ONNX Runtime predictor: runs a graph written by :func:`ferbench.models.export.to_onnx` (float or int8).

The graph takes the normalised N×C×S×S float input of the torch model and returns probabilities (any
test-time augmentation is inside the graph), so outputs match the torch predictor's. Preprocessing runs in
NumPy/OpenCV: an exported model needs neither torch nor ferbench's model code at inference time.
The file's metadata (``ferbench``) carries the model config, the source model's description and the
quantization, which :meth:`describe` reports so that run identities and caches tell backends apart.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..emotions import EMOTIONS
from .config import ModelConfig
from .predictor import Prediction, Predictor
from .preprocess import to_array
from .registry import register_model

METADATA_KEY = "ferbench"


def read_metadata(model_bytes: bytes, source: str = "ONNX model") -> dict[str, Any]:
    import onnx

    proto = onnx.load_from_string(model_bytes)
    return parse_metadata({p.key: p.value for p in proto.metadata_props}, source)


def parse_metadata(props: dict[str, str], source: str = "ONNX model") -> dict[str, Any]:
    """ferbench's metadata from a graph's metadata properties; a graph without it is refused."""
    if METADATA_KEY not in props:
        raise ValueError(f"{source}: not written by `ferbench export` (no {METADATA_KEY!r} metadata: the input "
                         "preprocessing and class order are unknown)")
    return json.loads(props[METADATA_KEY])


class OnnxPredictor(Predictor):
    """An exported graph run by ONNX Runtime. Subclasses run the same file on another engine: they override
    :meth:`_open`, :meth:`_metadata_props`, :meth:`_run` and :meth:`_engine`."""

    backend = "onnxruntime"

    def __init__(self, model_bytes: bytes, meta: dict[str, Any] | None = None, name: str | None = None,
                 threads: int | None = None, batch_size: int = 256, path: str | None = None):
        self._open(model_bytes, threads)
        if meta is None:
            meta = parse_metadata(self._metadata_props(model_bytes), path or "ONNX model")
        self.config = ModelConfig.model_validate(meta["config"])
        if list(self.config.labels) != list(EMOTIONS):
            raise ValueError(f"model outputs {self.config.labels}, not FER order: refusing to guess a mapping")
        self.meta, self.path, self.threads, self.batch_size = meta, path, threads, batch_size
        self.name = name or meta.get("name") or self.config.arch
        self.model_bytes = model_bytes
        self.sha256 = hashlib.sha256(model_bytes).hexdigest()

    def _open(self, model_bytes: bytes, threads: int | None) -> None:
        """Start the engine on the graph."""
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = int(threads)
            opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def _metadata_props(self, model_bytes: bytes) -> dict[str, str]:
        # read by the engine itself: the onnx package is not needed to run a model
        return self.session.get_modelmeta().custom_metadata_map

    def _run(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: x})[0]

    def _engine(self) -> dict[str, Any]:
        import onnxruntime as ort

        return {"onnxruntime": ort.__version__}

    @classmethod
    def from_file(cls, path: str | Path, **options: Any) -> "OnnxPredictor":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"ONNX model {path} not found")
        return cls(path.read_bytes(), path=str(path), **options)

    def predict(self, images: np.ndarray) -> Prediction:
        return Prediction.from_proba(self._run(to_array(images, self.config.preprocess)))

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "backend": self.backend, **self._engine(), "onnx_sha256": self.sha256,
                "path": self.path, "quantization": self.meta.get("quantization"), "source": self.meta.get("source"),
                "arch": self.config.arch}

    def cost_info(self) -> dict[str, Any]:
        return dict(self.meta.get("cost", {}))


def load_onnx(name: str, weights: str | Path | None = None, **options: Any) -> OnnxPredictor:
    """Registry loader for ``--model onnx --weights FILE.onnx``."""
    if weights is None:
        raise FileNotFoundError("--model onnx needs --weights FILE.onnx (written by `ferbench export`)")
    options.pop("backend", None)
    unknown = set(options) - {"threads", "batch_size", "name"}
    if unknown:
        raise ValueError(f"an exported ONNX model takes no option {sorted(unknown)} (its TTA is fixed at export); "
                         "options: threads, batch_size")
    return OnnxPredictor.from_file(weights, **options)


register_model("onnx", family="onnx", predictor=load_onnx,
               description="a model exported by `ferbench export` (--weights FILE.onnx), run by ONNX Runtime")(load_onnx)
