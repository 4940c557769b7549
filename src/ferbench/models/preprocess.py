"""uint8 faces -> normalised float tensors, as a model's :class:`Preprocess` config says."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .config import Preprocess

if TYPE_CHECKING:  # torch is imported when used: the ONNX Runtime backend runs without it
    import torch


def to_tensor(images: np.ndarray, pre: Preprocess) -> torch.Tensor:
    """N×H×W or N×H×W×3 uint8 (NumPy) -> N×C×S×S float32, normalised."""
    if images.ndim == 3:
        images = images[..., None]
    if pre.resize == "cv2_bilinear" and images.shape[1:3] != (pre.input_size, pre.input_size):
        import cv2  # Keras-era models were trained on cv2.resize output: match it exactly

        images = np.stack([cv2.resize(im, (pre.input_size, pre.input_size)) for im in images])
        images = images[..., None] if images.ndim == 3 else images
    import torch

    return normalize_batch(torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2), pre)


def normalize_batch(x: torch.Tensor, pre: Preprocess) -> torch.Tensor:
    """N×C×H×W uint8 tensor (C = 1 or 3) -> N×in_chans×S×S float32: channels, resize, /255, normalise.
    Training and inference both go through here, so validation during training equals ``ferbench eval``."""
    import torch
    import torch.nn.functional as F

    x = x.float().div_(255.0)
    if x.shape[1] == 3 and pre.in_chans == 1:
        x = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])  # ITU-R 601 luma, as PIL's "L"
    elif x.shape[1] == 1 and pre.in_chans == 3:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[-1] != pre.input_size or x.shape[-2] != pre.input_size:
        mode = "bilinear" if pre.resize == "cv2_bilinear" else pre.resize
        kw = {"align_corners": False, "antialias": True} if mode in ("bilinear", "bicubic") else {}
        x = F.interpolate(x, size=(pre.input_size, pre.input_size), mode=mode, **kw)
    mean = torch.tensor(pre.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(pre.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return (x - mean) / std


def to_array(images: np.ndarray, pre: Preprocess) -> np.ndarray:
    """As :func:`to_tensor`, as a NumPy array; without torch when no antialiased resize is needed (the
    ONNX Runtime backend then runs with NumPy and OpenCV only)."""
    if images.ndim == 3:
        images = images[..., None]
    if pre.resize == "cv2_bilinear" and images.shape[1:3] != (pre.input_size, pre.input_size):
        import cv2

        images = np.stack([cv2.resize(im, (pre.input_size, pre.input_size)) for im in images])
        images = images[..., None] if images.ndim == 3 else images
    if images.shape[1:3] != (pre.input_size, pre.input_size):
        return to_tensor(images, pre).numpy()
    x = images.astype(np.float32).transpose(0, 3, 1, 2) / np.float32(255.0)
    if x.shape[1] == 3 and pre.in_chans == 1:
        x = np.float32(0.299) * x[:, 0:1] + np.float32(0.587) * x[:, 1:2] + np.float32(0.114) * x[:, 2:3]
    elif x.shape[1] == 1 and pre.in_chans == 3:
        x = np.repeat(x, 3, axis=1)
    mean = np.asarray(pre.mean, dtype=np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(pre.std, dtype=np.float32).reshape(1, -1, 1, 1)
    return np.ascontiguousarray((x - mean) / std, dtype=np.float32)
