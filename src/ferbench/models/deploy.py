"""``ferbench export``: write a model as an ONNX file (float, or static int8) after checking it.

Float: the ONNX graph must give the torch model's probabilities (max |softmax diff| ≤ ``max_diff``) on a few
hundred faces. Int8: calibrated on Training faces only, its accuracy is measured against float on the
PublicTest faces of the same file, and a model that loses more than ``max_drop`` points is not written.
The checks' figures are written beside the model (``MODEL.onnx.json``). An output never replaces an input
(the weights, the data) nor, without ``force``, any existing file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..utils.io import write_bytes, write_json

PARITY_FACES = 300
CALIBRATION_FACES = 500


class ExportRefused(ValueError):
    """A check failed (parity, accuracy drop) or the output would overwrite a file: nothing was written."""


def sidecar(output: Path) -> Path:
    return output.with_name(output.name + ".json")


def check_outputs(output: Path, inputs: list[Path], force: bool) -> None:
    if output.suffix.lower() != ".onnx":
        raise ExportRefused(f"-o {output}: the output must end in .onnx")
    for out in (output, sidecar(output)):
        if any(out.resolve() == p.resolve() for p in inputs if p is not None):
            raise ExportRefused(f"{out} is an input of this export: refusing to overwrite it (even with --force)")
        if out.exists() and not force:
            raise ExportRefused(f"{out} exists: choose another -o, or pass --force to replace it")


def _sample(index: np.ndarray, n: int, seed: int) -> np.ndarray:
    if len(index) <= n:
        return index
    return np.sort(np.random.default_rng(seed).choice(index, n, replace=False))


def _write(path: Path, data: bytes, force: bool) -> None:
    """Atomic with ``force``; otherwise exclusive (a file that appeared meanwhile is never replaced)."""
    if force:
        write_bytes(path, data)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fh = open(path, "xb")
    except FileExistsError:
        raise ExportRefused(f"{path} appeared during the export: not replaced") from None
    try:
        with fh:
            fh.write(data)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def export_model(model: str | None, weights: str | Path | None, output: str | Path, data: str | Path | None = None,
                 int8: bool = False, max_drop: float = 0.5, max_diff: float = 1e-3, force: bool = False,
                 n_parity: int = PARITY_FACES, n_calibration: int = CALIBRATION_FACES, seed: int = 0,
                 **options: Any) -> dict[str, Any]:
    """Export, check, write; returns the report written beside the model. Raises :class:`ExportRefused`."""
    from .export import to_onnx, parity
    from .onnx_predictor import OnnxPredictor
    from .factory import load_predictor
    from .torch_predictor import TorchPredictor

    output = Path(output)
    inputs = [Path(p) for p in (weights, data) if p is not None]
    check_outputs(output, inputs, force)
    predictor = load_predictor(model, weights, **options)
    if not isinstance(predictor, TorchPredictor):
        raise ExportRefused(f"model {predictor.name!r} is not a single CNN-family model: export its members one by "
                            "one (ferbench models list), or run it with --backend onnxruntime")
    if predictor.weights_path and Path(predictor.weights_path) not in inputs:
        inputs.append(Path(predictor.weights_path))
        check_outputs(output, inputs, force)
    pre = predictor.config.preprocess
    report: dict[str, Any] = {"model": predictor.describe(), "output": str(output)}
    ds = None
    if data is not None:
        from ..data import load_dataset

        ds = load_dataset(data)
        train = np.flatnonzero(ds.splits == "Training")
        faces = ds.images[_sample(train if len(train) else np.arange(len(ds)), n_parity, seed)]
        report["data"] = {"source": str(data), "fingerprint": ds.fingerprint}
    else:  # no faces at hand: the graph is still checked, on noise (said so in the report)
        faces = np.random.default_rng(seed).integers(0, 256, (n_parity, pre.input_size, pre.input_size), dtype=np.uint8)
    float_bytes, _ = to_onnx(predictor)
    float_model = OnnxPredictor(float_bytes)
    check = parity(predictor, float_model, faces)
    check["inputs"] = "Training faces" if ds is not None else "random images (pass --data for faces)"
    report["parity_torch_vs_onnx"] = check
    if check["max_abs_softmax_diff"] > max_diff:
        raise ExportRefused(f"ONNX graph differs from the torch model: max |softmax diff| "
                            f"{check['max_abs_softmax_diff']:.2e} > {max_diff:.0e} on {check['n']} faces; nothing written")
    result = float_bytes
    if int8:
        result, report["int8"] = _int8(float_bytes, float_model, ds, data, max_drop, n_calibration, seed)
    _write(output, result, force)
    write_json(sidecar(output), report)
    return report


def _int8(float_bytes: bytes, float_model: Any, ds: Any, data: Any, max_drop: float, n_calibration: int,
          seed: int) -> tuple[bytes, dict[str, Any]]:
    from .onnx_predictor import OnnxPredictor
    from .quantize import accuracy, quantize_int8

    if ds is None:
        raise ExportRefused("--int8 needs --data: a FER-2013 CSV with Training rows (calibration) and PublicTest "
                            "rows (accuracy check)")
    train, test = np.flatnonzero(ds.splits == "Training"), np.flatnonzero(ds.splits == "PublicTest")
    if not len(train) or not len(test):
        raise ExportRefused(f"{data}: --int8 calibrates on Training rows and checks on PublicTest rows; found "
                            f"{len(train)} Training and {len(test)} PublicTest rows")
    calib = _sample(train, n_calibration, seed)
    int8_bytes = quantize_int8(float_bytes, ds.images[calib], [str(i) for i in ds.ids[calib]])
    int8_model = OnnxPredictor(int8_bytes)
    images, labels = ds.images[test], ds.labels[test]
    a, b = accuracy(float_model, images, labels), accuracy(int8_model, images, labels)
    drop = 100 * (a["accuracy"] - b["accuracy"])
    info = {"n_calibration": int(len(calib)), "calibration_split": "Training", "eval_split": "PublicTest",
            "n_eval": a["n"], "accuracy_float": a["accuracy"], "accuracy_int8": b["accuracy"],
            "drop_points": drop, "label_agreement": float((a["pred"] == b["pred"]).mean()), "max_drop": max_drop}
    if drop > max_drop:
        raise ExportRefused(f"int8 loses {drop:.2f} points on PublicTest ({100 * a['accuracy']:.2f}% float -> "
                            f"{100 * b['accuracy']:.2f}% int8, {a['n']} faces) > --max-drop {max_drop}; nothing written")
    return int8_bytes, info
