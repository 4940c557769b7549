"""OpenVINO predictor: runs a graph written by ``ferbench export`` (float or int8) on OpenVINO's CPU plugin.

Why a second engine for the same file: on the 2-core Intel Xeon with AVX-512 VNNI/AMX, OpenVINO's int8 kernels
ran FERNet's quantized graph 1.8× as fast as ONNX Runtime's on one thread (README, "Against the `fer` package").
The int8 graph's quantize/dequantize pairs become OpenVINO's int8 convolutions; a float graph runs in float32
(OpenVINO would otherwise pick bfloat16 on AMX CPUs by itself, and a backend must not change a float model's
numbers unasked). ``openvino-bf16`` asks for bfloat16: on the Xeon with AMX it ran float FERNet 3.5-4.6× as fast
as float32 on one thread, with PublicTest accuracy within 0.06 points of float32 (README); on a CPU without bf16
OpenVINO runs float32, and the precision it used is part of the run's identity.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .onnx_predictor import OnnxPredictor


class OpenVinoPredictor(OnnxPredictor):
    backend = "openvino"
    precision = "f32"

    def _open(self, model_bytes: bytes, threads: int | None) -> None:
        try:
            import openvino as ov
        except ImportError as exc:
            raise ImportError(f"--backend openvino needs OpenVINO: pip install 'ferbench[deploy]' ({exc})") from None

        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": self.precision}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        core = ov.Core()
        compiled = core.compile_model(core.read_model(model_bytes), "CPU", config)
        self.used_precision = compiled.get_property("INFERENCE_PRECISION_HINT").to_string()  # what this CPU could do
        self.request = compiled.create_infer_request()

    def _metadata_props(self, model_bytes: bytes) -> dict[str, str]:
        import onnx  # OpenVINO's ONNX reader drops the graph's metadata properties

        return {p.key: p.value for p in onnx.load_from_string(model_bytes).metadata_props}

    def _run(self, x: np.ndarray) -> np.ndarray:
        self.request.infer({0: x})
        return self.request.get_output_tensor(0).data.copy()  # the request reuses its output buffer

    def _engine(self) -> dict[str, Any]:
        import openvino as ov

        return {"openvino": ov.__version__, "inference_precision": self.used_precision}


class OpenVinoBf16Predictor(OpenVinoPredictor):
    """The float graph in bfloat16 where the CPU has it (AVX-512 BF16 or AMX); float32 elsewhere."""

    backend = "openvino-bf16"
    precision = "bf16"
