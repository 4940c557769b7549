"""A torch module that runs a parsed Keras graph (:mod:`.spec`) in NCHW, returning logits.

Keras/TensorFlow 'same' padding is asymmetric when the total padding is odd (one more row/column at the
bottom/right), unlike torch's symmetric ``padding=``; so 'same' layers pad explicitly, with zeros before a
convolution and with -inf before a max-pool (TensorFlow ignores padded cells when taking the max).
The model's final ``Activation('softmax')`` is dropped: ferbench predictors apply softmax to logits.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

_ACT = {"linear": lambda x: x, "relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
        "softmax": lambda x: x.softmax(dim=1)}  # channels are dim 1 in NCHW, the last axis in Keras


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of one axis under TensorFlow's 'SAME' rule."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pad_same(x: torch.Tensor, kernel: list[int], stride: list[int], value: float = 0.0) -> torch.Tensor:
    # int(): an ONNX export traces the padding as constants of the fixed input size (ONNX integer division
    # truncates, so the traced ceil-division would pad wrongly).
    top, bottom = same_padding(int(x.shape[-2]), kernel[0], stride[0])
    left, right = same_padding(int(x.shape[-1]), kernel[1], stride[1])
    if top or bottom or left or right:
        x = F.pad(x, (left, right, top, bottom), value=value)
    return x


def _symmetric(cfg: dict[str, Any]) -> bool:
    """At stride 1 with odd kernels 'same' padding is k // 2 on both sides, whatever the input size: torch's
    own ``padding=`` then does it without an extra copy."""
    return cfg.get("padding") == "same" and all(s == 1 and k % 2 for k, s in zip(cfg["kernel_size"], cfg["strides"]))


class Conv2D(nn.Conv2d):
    def __init__(self, in_chans: int, cfg: dict[str, Any]):
        sym = _symmetric(cfg)
        super().__init__(in_chans, cfg["filters"], tuple(cfg["kernel_size"]), tuple(cfg["strides"]),
                         padding=tuple(k // 2 for k in cfg["kernel_size"]) if sym else 0, bias=cfg.get("use_bias", True))
        self.same, self.act = cfg.get("padding") == "same" and not sym, cfg.get("activation", "linear")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.same:
            x = pad_same(x, self.kernel_size, self.stride)
        return _ACT[self.act](super().forward(x))


class SeparableConv2D(nn.Module):
    """Keras SeparableConv2D: a depthwise convolution (with the stride and padding), then a 1×1 pointwise one."""

    def __init__(self, in_chans: int, cfg: dict[str, Any]):
        super().__init__()
        mult, kernel, stride = cfg.get("depth_multiplier", 1), tuple(cfg["kernel_size"]), tuple(cfg["strides"])
        sym = _symmetric(cfg)
        self.depthwise = nn.Conv2d(in_chans, in_chans * mult, kernel, stride, groups=in_chans, bias=False,
                                   padding=tuple(k // 2 for k in kernel) if sym else 0)
        self.pointwise = nn.Conv2d(in_chans * mult, cfg["filters"], 1, bias=cfg.get("use_bias", True))
        self.same, self.act = cfg.get("padding") == "same" and not sym, cfg.get("activation", "linear")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.same:
            x = pad_same(x, self.depthwise.kernel_size, self.depthwise.stride)
        return _ACT[self.act](self.pointwise(self.depthwise(x)))


class MaxPooling2D(nn.Module):
    def __init__(self, cfg: dict[str, Any]):
        super().__init__()
        self.pool, self.stride, self.same = list(cfg["pool_size"]), list(cfg["strides"]), cfg.get("padding") == "same"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.same:
            x = pad_same(x, self.pool, self.stride, value=float("-inf"))
        return F.max_pool2d(x, self.pool, self.stride)


class Activation(nn.Module):
    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ACT[self.name](x)


class Add(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.stack(xs).sum(0)


class GlobalAveragePooling2D(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


class KerasGraph(nn.Module):
    """Evaluates ``graph["layers"]`` in order; parameters live under ``layers.<keras layer name>``."""

    def __init__(self, graph: dict[str, Any]):
        super().__init__()
        last = next((s for s in graph["layers"] if s["name"] == graph["output"]), None)
        if last is None or last["type"] != "Activation" or last["config"]["activation"] != "softmax":
            raise ValueError(f"output layer {graph['output']!r} is not Activation('softmax'): not a classifier "
                             "whose logits ferbench can recover")
        self.graph = graph
        channels = {graph["input"]: graph["input_shape"][-1]}
        self.layers = nn.ModuleDict()
        for spec in graph["layers"]:
            name, kind, cfg = spec["name"], spec["type"], spec["config"]
            c_in = channels[spec["inputs"][0]]
            if kind == "Add" and len({channels[i] for i in spec["inputs"]}) != 1:
                raise ValueError(f"layer {name!r}: Add of tensors with {[channels[i] for i in spec['inputs']]} channels")
            if kind == "Activation" and name == graph["output"] and cfg["activation"] == "softmax":
                module: nn.Module = Activation("linear")  # logits out; the predictor applies softmax
            elif kind == "Activation":
                module = Activation(cfg["activation"])
            elif kind in ("Conv2D", "SeparableConv2D"):
                module = (Conv2D if kind == "Conv2D" else SeparableConv2D)(c_in, cfg)
            elif kind == "BatchNormalization":
                module = nn.BatchNorm2d(c_in, eps=cfg["epsilon"])  # keep Keras' epsilon: some variances are ~1e-36
            elif kind == "MaxPooling2D":
                module = MaxPooling2D(cfg)
            else:
                module = Add() if kind == "Add" else GlobalAveragePooling2D()
            channels[name] = cfg.get("filters", c_in)
            self.layers[name] = module
        self.num_classes = channels[graph["output"]]
        # After layer k, drop the tensors no later layer reads (keeps peak memory near that of one branch).
        last_use = {i: k for k, spec in enumerate(graph["layers"]) for i in spec["inputs"]}
        self._free = [[n for n, k_last in last_use.items() if k_last == k] for k in range(len(graph["layers"]))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = {self.graph["input"]: x}
        for spec, done in zip(self.graph["layers"], self._free):
            values[spec["name"]] = self.layers[spec["name"]](*(values[i] for i in spec["inputs"]))
            for name in done:
                del values[name]
        return values[self.graph["output"]]
