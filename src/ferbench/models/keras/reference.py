"""An independent NumPy forward pass of a Keras HDF5 classifier, to check conversions against.

It shares nothing with the torch conversion but the h5py array reader: it walks the raw ``model_config``
(not ferbench's parsed graph), keeps Keras' own layouts (NHWC activations, HWIO kernels, depthwise kernels
H×W×C×M), derives 'same' padding from TensorFlow's documented rule, preprocesses as the source repository
does, and computes in float64. Slow, but small models on a few hundred faces take seconds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .hdf5 import KerasFile


def preprocess(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 N×H×W gray faces -> N×size×size×1, as face_classification does: cv2.resize (bilinear), then
    ``preprocess_input(v2=True)``: x / 255, then (x - 0.5) * 2."""
    import cv2

    if images.shape[1:3] != (size, size):
        images = np.stack([cv2.resize(im, (size, size)) for im in images])
    x = images.astype(np.float64) / 255.0
    return ((x - 0.5) * 2.0)[..., None]


def _tf_same_pad(size: int, k: int, s: int) -> tuple[int, int]:
    # TensorFlow's documented rule (tf.nn.convolution, padding='SAME'); the extra cell goes after.
    total = max(k - s, 0) if size % s == 0 else max(k - size % s, 0)
    return total // 2, total - total // 2


def _taps(x: np.ndarray, kernel, strides, padding: str, fill: float = 0.0):
    """Keras-pad N×H×W×C, then yield (i, j, the N×Ho×Wo×C input cells that kernel tap (i, j) sees)."""
    (kh, kw), (sh, sw) = kernel, strides
    if padding == "same":
        x = np.pad(x, ((0, 0), _tf_same_pad(x.shape[1], kh, sh), _tf_same_pad(x.shape[2], kw, sw), (0, 0)),
                   constant_values=fill)
    ho, wo = (x.shape[1] - kh) // sh + 1, (x.shape[2] - kw) // sw + 1
    for i in range(kh):
        for j in range(kw):
            yield i, j, x[:, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]


def _activation(x: np.ndarray, name: str) -> np.ndarray:
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    if name == "linear":
        return x
    raise ValueError(f"reference: activation {name!r}")


def _layer(kind: str, cfg: dict[str, Any], w: dict[str, np.ndarray], xs: list[np.ndarray]) -> np.ndarray:
    x = xs[0]
    if kind == "Conv2D":  # sum over kernel taps of (input cells) @ (C_in × C_out tap matrix)
        y = sum(cells @ w["kernel"][i, j] for i, j, cells in _taps(x, cfg["kernel_size"], cfg["strides"], cfg["padding"]))
    elif kind == "SeparableConv2D":  # depthwise: each channel c times its own M tap weights; then 1×1
        k = w["depthwise_kernel"]
        depth = sum(cells[..., None] * k[i, j] for i, j, cells in _taps(x, cfg["kernel_size"], cfg["strides"],
                                                                         cfg["padding"]))
        y = depth.reshape(*depth.shape[:3], -1) @ w["pointwise_kernel"][0, 0]
    elif kind == "BatchNormalization":
        gamma = w["gamma"] if cfg.get("scale", True) else 1.0
        beta = w["beta"] if cfg.get("center", True) else 0.0
        return (x - w["moving_mean"]) / np.sqrt(w["moving_variance"] + cfg["epsilon"]) * gamma + beta
    elif kind == "Activation":
        return _activation(x, cfg["activation"])
    elif kind == "Add":
        return sum(xs[1:], xs[0])
    elif kind == "MaxPooling2D":
        taps = _taps(x, cfg["pool_size"], cfg["strides"] or cfg["pool_size"], cfg["padding"], -np.inf)
        return np.maximum.reduce([cells for _, _, cells in taps])
    elif kind == "GlobalAveragePooling2D":
        return x.mean(axis=(1, 2))
    else:
        raise ValueError(f"reference: layer type {kind}")
    if cfg.get("use_bias", True):
        y = y + w["bias"]
    return _activation(y, cfg.get("activation", "linear"))


def forward(kf: KerasFile, x: np.ndarray) -> np.ndarray:
    """Model output (the softmax) for preprocessed NHWC input, every layer in float64."""
    body = kf.model_config["config"]
    weights = {layer: {k: v.astype(np.float64) for k, v in ws.items()} for layer, ws in kf.weights.items()}
    values: dict[str, np.ndarray] = {}
    pending = list(body["layers"])
    while pending:  # evaluate whichever layers have all their inputs, until none is left
        progressed = False
        for layer in list(pending):
            inputs = [entry[0] for entry in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
            if layer["class_name"] == "InputLayer":
                values[layer["name"]] = x
            elif all(i in values for i in inputs):
                values[layer["name"]] = _layer(layer["class_name"], layer["config"], weights.get(layer["name"], {}),
                                               [values[i] for i in inputs])
            else:
                continue
            pending.remove(layer)
            progressed = True
        if not progressed:
            raise ValueError(f"reference: cannot evaluate {[layer['name'] for layer in pending]}")
    return values[body["output_layers"][0][0]]


def predict_proba(kf: KerasFile, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Softmax outputs for uint8 gray faces, preprocessed as the source repository does."""
    body = kf.model_config["config"]
    first = next(layer for layer in body["layers"] if layer["name"] == body["input_layers"][0][0])
    size = first["config"]["batch_input_shape"][1]
    return np.concatenate([forward(kf, preprocess(images[i:i + batch_size], size))
                           for i in range(0, len(images), batch_size)])


def probe_faces(n: int, size: int = 48, seed: int = 0) -> np.ndarray:
    """Synthetic uint8 test images (smooth blobs plus noise) for a quick parity check without data."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 1.0, (n, size, size))
    smooth = np.stack([cv2.GaussianBlur(im, (0, 0), size / 12) for im in noise])
    smooth = (smooth - smooth.min((1, 2), keepdims=True)) / np.ptp(smooth, axis=(1, 2), keepdims=True)
    return np.clip(smooth * 200 + rng.normal(30, 12, smooth.shape), 0, 255).astype(np.uint8)


def parity(kf: KerasFile, predictor, images: np.ndarray) -> dict[str, Any]:
    """Max |softmax difference| between a ferbench predictor and this reference, on uint8 images."""
    ref = predict_proba(kf, images)
    got = predictor.predict(images).proba.astype(np.float64)
    return {"n": int(len(images)), "max_abs_softmax_diff": float(np.abs(got - ref).max()),
            "argmax_agreement": float((got.argmax(1) == ref.argmax(1)).mean())}
