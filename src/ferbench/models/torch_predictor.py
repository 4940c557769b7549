"""Predictor for any torch module with a :class:`ModelConfig`: trained CNNs, imported Keras models, FERNet."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..cost.flops import count_flops, count_params
from ..emotions import EMOTIONS
from .config import ModelConfig
from .predictor import Prediction, Predictor
from .preprocess import to_tensor


PRECISIONS = ("float32", "bfloat16")


class TorchPredictor(Predictor):
    def __init__(self, module: torch.nn.Module, config: ModelConfig, name: str | None = None,
                 weights_sha256: str | None = None, batch_size: int = 256, tta: str = "none",
                 device: str | None = None, weights_path: str | None = None, precision: str = "float32"):
        if list(config.labels) != list(EMOTIONS):
            raise ValueError(f"model outputs {config.labels}, not FER order {list(EMOTIONS)}: refusing to guess a mapping")
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        # channels_last in float32 too: on a 2-core AMD EPYC it ran big/mini-Xception 1.6x and FERNet 1.2x as
        # fast, probabilities equal to 1e-6 (benchmarks/channels_last.py)
        self.module = module.to(self.device, memory_format=torch.channels_last).eval()
        self.config, self.name = config, name or config.arch
        self.weights_sha256, self.weights_path = weights_sha256, weights_path
        self.batch_size, self.tta = batch_size, tta
        self.precision = "float32"
        if precision != "float32":
            self.set_precision(precision)

    def set_precision(self, precision: str) -> None:
        """float32, or bfloat16: autocast, several times faster on CPUs with AVX-512 BF16 or AMX and slower on
        others (benchmarks/train_speed.py --compare). Probabilities differ slightly from float32, so the
        precision joins :meth:`describe` and with it run identities and caches."""
        if precision not in PRECISIONS:
            raise ValueError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
        self.precision = precision

    @torch.inference_mode()
    def predict(self, images: np.ndarray) -> Prediction:
        x = to_tensor(images, self.config.preprocess).to(self.device).contiguous(memory_format=torch.channels_last)
        if self.precision == "float32":
            return Prediction.from_proba(probabilities(self.module, x, self.tta).cpu().numpy())
        with torch.autocast(self.device.type, dtype=torch.bfloat16):
            proba = probabilities(self.module, x, self.tta)
        return Prediction.from_proba(proba.float().cpu().numpy())

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "arch": self.config.arch, "weights": self.weights_path,
                "weights_sha256": self.weights_sha256, "tta": self.tta,
                "config": self.config.model_dump(mode="json"),
                # only when not float32, so that earlier runs and caches keep their identity
                **({"precision": self.precision} if self.precision != "float32" else {})}

    def cost_info(self) -> dict[str, Any]:
        pre = self.config.preprocess
        flops = count_flops(self.module, (pre.in_chans, pre.input_size, pre.input_size))
        views = {"none": 1, "flip": 2, "tencrop": 10}.get(self.tta, 1)
        return {"params": count_params(self.module), "flops_per_image": flops * views, "tta_views": views}


def probabilities(module: torch.nn.Module, x: torch.Tensor, tta: str = "none") -> torch.Tensor:
    """Softmax over the classes, averaged over the test-time views (also what an ONNX export computes)."""
    if tta == "none":
        return module(x).float().softmax(1)
    if tta == "flip":
        return (module(x).float().softmax(1) + module(x.flip(-1)).float().softmax(1)) / 2
    if tta == "tencrop":
        return _ten_crop(module, x)
    raise ValueError(f"unknown test-time augmentation {tta!r} (none, flip, tencrop)")


def _ten_crop(module: torch.nn.Module, x: torch.Tensor, pad_fraction: float = 1 / 12) -> torch.Tensor:
    """Mean softmax over ten views: the four corner crops and the centre crop of the reflect-padded image (4 px
    of padding at 48 px), each also mirrored. Views keep the input size: they are the shifts that random-crop
    training showed the model, not the zoom a resized smaller crop would be."""
    import torch.nn.functional as F

    size = int(x.shape[-1])  # int(): an ONNX export traces the views as constants of the input size
    p = max(1, round(size * pad_fraction))
    padded = F.pad(x, (p, p, p, p), mode="reflect")
    offsets = [(0, 0), (0, 2 * p), (2 * p, 0), (2 * p, 2 * p), (p, p)]
    total = 0
    for top, left in offsets:
        crop = padded[..., top:top + size, left:left + size]
        total = total + module(crop).float().softmax(1) + module(crop.flip(-1)).float().softmax(1)
    return total / 10
