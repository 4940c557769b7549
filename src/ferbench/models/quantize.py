"""Static int8 quantization of an exported ONNX model, calibrated on training faces.

Static (activations too, not only weights) so that convolutions run as int8 kernels (VNNI on x86);
QDQ format with per-channel weights, which keeps FER-size CNNs within a fraction of a point of float.
Weights use 7 bits (``reduce_range``): x86 CPUs without VNNI multiply u8 activations by s8 weights with
VPMADDUBSW, whose sums of two products saturate int16 with 8-bit weights (2·255·127 > 32767, not 2·255·63);
that cost FERNet 3.8 points on PublicTest on such a CPU. 7 bits is onnxruntime's documented remedy: FERNet
then loses nothing there and runs no slower. A file quantized on one machine must hold its accuracy on any
other, so this is not chosen by the CPU at hand.
The first convolution stays float (:func:`float_nodes`): it sees the image itself, and its per-channel weights
are 9 numbers each (one gray channel, 3x3) that 7 bits round coarsely. Chosen on Training faces, not on the test
split: on 4,000 Training faces outside the calibration set, keeping it float raised the int8 model's label
agreement with float from 98.40 to 98.90% (fernet_kd2), 98.83 to 99.17% (fernet) and 95.40 to 96.38%
(mini-Xception) on OpenVINO, where keeping the classifier float, percentile or entropy calibration did not
help consistently; it costs about 4% of OpenVINO's int8 throughput (the stem is 0.3% of FERNet's FLOPs).
Calibration faces must not be the faces the accuracy change is measured on: callers pass Training rows.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .config import ModelConfig
from .onnx_predictor import METADATA_KEY, read_metadata
from .preprocess import to_array


class _Faces:
    """onnxruntime's CalibrationDataReader protocol over preprocessed batches."""

    def __init__(self, batches: list[np.ndarray], input_name: str):
        self._it = iter([{input_name: b} for b in batches])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


def quantize_int8(model_bytes: bytes, calibration: np.ndarray, calibration_ids: list[str] | None = None,
                  batch_size: int = 64) -> bytes:
    """The int8 model (QDQ, per-channel weights, MinMax calibration on ``calibration`` uint8 faces)."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if len(calibration) == 0:
        raise ValueError("int8 calibration needs faces (none given)")
    meta = read_metadata(model_bytes)
    pre = ModelConfig.model_validate(meta["config"]).preprocess
    batches = [to_array(calibration[i:i + batch_size], pre) for i in range(0, len(calibration), batch_size)]
    with tempfile.TemporaryDirectory(prefix="ferbench-int8-") as tmp:
        src, prepared, out = Path(tmp, "float.onnx"), Path(tmp, "prepared.onnx"), Path(tmp, "int8.onnx")
        src.write_bytes(model_bytes)
        quant_pre_process(str(src), str(prepared), skip_symbolic_shape=True)
        graph = onnx.load(str(prepared)).graph
        keep_float = float_nodes(graph)
        quantize_static(str(prepared), str(out), _Faces(batches, graph.input[0].name), quant_format=QuantFormat.QDQ,
                        per_channel=True, reduce_range=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=keep_float)
        proto = onnx.load(str(out))
    quant = {"type": "int8_static", "format": "QDQ", "per_channel": True, "weight_bits": 7, "calibration": "minmax",
             "float_nodes": keep_float,
             "n_calibration": int(len(calibration)), "calibration_ids_sha": _ids_digest(calibration_ids)}
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps({**meta, "quantization": quant}, default=str)
    return proto.SerializeToString()


def float_nodes(graph: Any) -> list[str]:
    """The nodes int8 leaves float: the first convolution (see the module's docstring) and infinite pads."""
    first_conv = next((n.name for n in graph.node if n.op_type == "Conv"), None)
    return ([first_conv] if first_conv else []) + infinite_pads(graph)


def infinite_pads(graph: Any) -> list[str]:
    """Pads with a non-finite fill (-inf before a Keras 'same' max-pool) and the nodes reading them: their
    range is infinite, so int8 would destroy them; they stay float (the convolutions around them do not)."""
    from onnx import numpy_helper

    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    values.update({n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in graph.node
                   if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value"})
    pads = [n for n in graph.node if n.op_type == "Pad" and len(n.input) > 2 and n.input[2] in values
            and not np.isfinite(values[n.input[2]]).all()]
    outputs = {o for n in pads for o in n.output}
    return [n.name for n in pads] + [n.name for n in graph.node if outputs & set(n.input)]


def _ids_digest(ids: list[str] | None) -> str | None:
    import hashlib

    return hashlib.sha256("\n".join(map(str, ids)).encode()).hexdigest()[:16] if ids is not None else None


def accuracy(predictor: Any, images: np.ndarray, labels: np.ndarray, batch_size: int = 256) -> dict[str, Any]:
    """Accuracy over labelled faces, with the predictions (to compare two backends face by face)."""
    preds = np.concatenate([predictor.predict(images[i:i + batch_size]).pred for i in range(0, len(images), batch_size)])
    known = labels >= 0
    if not known.any():
        raise ValueError("no labelled faces to measure accuracy on")
    return {"n": int(known.sum()), "accuracy": float((preds[known] == labels[known]).mean()), "pred": preds}
