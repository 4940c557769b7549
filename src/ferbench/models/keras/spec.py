"""The Keras functional graph reduced to what inference needs: a small JSON stored in checkpoints.

``parse_graph`` turns a Keras ``model_config`` into::

    {"input": "input_1", "input_shape": [H, W, C], "output": "predictions",
     "layers": [{"name": "conv2d_1", "type": "Conv2D", "inputs": ["input_1"], "config": {...}}, ...]}

with layers in a valid evaluation order. Only the settings that change the output are kept, and every
setting this importer cannot honour (dilation, channels_first, shared layers...) stops with an error
naming the layer, so an unsupported file never converts into a silently different model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .hdf5 import KerasImportError

ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax")
# Keras layer type -> the config keys kept (the rest are training-time settings: initialisers, momentum...).
KEPT: dict[str, tuple[str, ...]] = {
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "use_bias", "activation"),
    "SeparableConv2D": ("filters", "kernel_size", "strides", "padding", "use_bias", "activation", "depth_multiplier"),
    "BatchNormalization": ("epsilon", "center", "scale"),
    "Activation": ("activation",),
    "Add": (),
    "MaxPooling2D": ("pool_size", "strides", "padding"),
    "GlobalAveragePooling2D": (),
}


def parse_graph(model_config: dict, path: str | Path = "<model_config>") -> dict[str, Any]:
    if model_config.get("class_name") not in ("Model", "Functional"):
        raise KerasImportError(path, f"model class {model_config.get('class_name')!r}: only functional Keras "
                               "models (class 'Model'/'Functional') are supported")
    body = model_config["config"]
    inputs, outputs = body.get("input_layers", []), body.get("output_layers", [])
    if len(inputs) != 1 or len(outputs) != 1:
        raise KerasImportError(path, f"{len(inputs)} inputs and {len(outputs)} outputs; expected one of each")
    input_name, output_name = inputs[0][0], outputs[0][0]
    layers, input_shape = [], None
    for raw in body["layers"]:
        name, kind, cfg = raw["name"], raw["class_name"], raw.get("config", {})
        if kind == "InputLayer":
            if name != input_name:
                raise KerasImportError(path, "a second input layer", name)
            shape = cfg.get("batch_input_shape") or []
            if len(shape) != 4 or None in shape[1:]:
                raise KerasImportError(path, f"input shape {shape}: expected [batch, H, W, C]", name)
            input_shape = list(shape[1:])
            continue
        layers.append({"name": name, "type": kind, "inputs": _inbound(raw, path),
                       "config": _kept_config(kind, cfg, name, path)})
    if input_shape is None:
        raise KerasImportError(path, f"no InputLayer named {input_name!r}")
    return {"input": input_name, "input_shape": input_shape, "output": output_name,
            "layers": _evaluation_order(layers, input_name, output_name, path)}


def _inbound(raw: dict, path) -> list[str]:
    nodes = raw.get("inbound_nodes", [])
    if len(nodes) != 1 or not isinstance(nodes[0], list):
        raise KerasImportError(path, f"{len(nodes)} call sites (shared layers or a newer Keras format) are not "
                               "supported", raw["name"])
    names = []
    for entry in nodes[0]:
        if entry[1] != 0 or entry[2] != 0:
            raise KerasImportError(path, f"input {entry[0]!r} uses node {entry[1]}/tensor {entry[2]}; only the "
                                   "first output of single-use layers is supported", raw["name"])
        names.append(entry[0])
    return names


def _kept_config(kind: str, cfg: dict, name: str, path) -> dict[str, Any]:
    if kind not in KEPT:
        raise KerasImportError(path, f"layer type {kind} is not supported (supported: {', '.join(KEPT)})", name)
    if cfg.get("data_format", "channels_last") != "channels_last":
        raise KerasImportError(path, f"data_format {cfg['data_format']!r}: only channels_last", name)
    if any(d != 1 for d in cfg.get("dilation_rate", [1, 1])):
        raise KerasImportError(path, f"dilation_rate {cfg['dilation_rate']}: only 1", name)
    if kind == "BatchNormalization" and cfg.get("axis", -1) not in (-1, 3):
        raise KerasImportError(path, f"batch normalisation over axis {cfg['axis']}: only the channel axis", name)
    kept = {k: cfg[k] for k in KEPT[kind] if k in cfg}
    if kind == "MaxPooling2D" and kept.get("strides") is None:
        kept["strides"] = kept["pool_size"]  # Keras: strides=None means strides = pool_size
    if kept.get("padding", "valid") not in ("valid", "same"):
        raise KerasImportError(path, f"padding {kept['padding']!r}: only 'valid' and 'same'", name)
    if kept.get("activation", "linear") not in ACTIVATIONS:
        raise KerasImportError(path, f"activation {kept['activation']!r} (supported: {', '.join(ACTIVATIONS)})", name)
    return kept


def _evaluation_order(layers: list[dict], input_name: str, output_name: str, path) -> list[dict]:
    """Topological order (Kahn), keeping the file's order among ready layers."""
    by_name = {layer["name"]: layer for layer in layers}
    if output_name not in by_name:
        raise KerasImportError(path, f"output layer {output_name!r} is not in the graph")
    ready, ordered, pending = {input_name}, [], list(layers)
    while pending:
        step = [layer for layer in pending if all(i in ready for i in layer["inputs"])]
        if not step:
            missing = sorted({i for layer in pending for i in layer["inputs"] if i not in ready and i not in by_name})
            raise KerasImportError(path, f"unknown inputs {missing}" if missing else "the graph has a cycle",
                                   pending[0]["name"])
        for layer in step:
            ready.add(layer["name"])
            ordered.append(layer)
        pending = [layer for layer in pending if layer["name"] not in ready]
    return ordered
