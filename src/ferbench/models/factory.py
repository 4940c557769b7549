"""Building and loading registered models: ``create_model`` gives a trainable ``nn.Module``,
``load_predictor`` a ready :class:`Predictor` for any model (a checkpoint, a packaged model, a VLM...)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .checkpoint import load_checkpoint, load_weights
from .registry import DEFAULT_MODEL, MODELS, builds_module
from .torch_predictor import TorchPredictor


def create_model(name: str, **kwargs: Any):
    """Build the model ``name`` (for trainable families: an ``nn.Module`` with FER-order outputs)."""
    entry = MODELS.get(name)
    if not builds_module(entry):
        raise ValueError(f"model {name!r} (family {entry.meta.get('family')}) is loaded, not built: use "
                         f"load_predictor({name!r}, weights, ...) or `ferbench eval --model {name}`")
    return entry.fn(**kwargs)


def load_checkpoint_predictor(path: str | Path, expect_arch: str | None = None, **options: Any) -> TorchPredictor:
    """A :class:`TorchPredictor` from a ferbench ``.safetensors`` checkpoint (its config names the architecture)."""
    config, state, digest = load_checkpoint(path)
    if expect_arch and config.arch != expect_arch:
        raise ValueError(f"{path} is a {config.arch!r} checkpoint, not {expect_arch!r}")
    module = create_model(config.arch, num_classes=config.num_classes, in_chans=config.preprocess.in_chans,
                          input_size=config.preprocess.input_size, **config.arch_kwargs)
    load_weights(module, state, path, config.arch)
    return TorchPredictor(module, config, name=options.pop("name", None) or config.arch, weights_sha256=digest,
                          weights_path=str(path), **options)


def member_options(declared: dict[str, Any], consent: bool) -> dict[str, Any]:
    """A member's options from a spec file (fusion, ensemble): ``trust_remote_code`` reaches the members that
    ask for it only when this run gave consent; consent is never inherited from a file."""
    options = {k: v for k, v in declared.items() if k != "trust_remote_code"}
    if consent and declared.get("trust_remote_code"):
        options["trust_remote_code"] = True
    return options


def load_predictor(name: str | None = None, weights: str | Path | None = None, backend: str = "torch",
                   **options: Any):
    """A ready :class:`Predictor`. ``name`` may be omitted when ``weights`` is a ferbench checkpoint (its
    config names the architecture) or an exported ``.onnx``; with neither, the packaged default model is used.
    ``backend="onnxruntime"`` runs CNN-family models (and ensembles of them) through ONNX Runtime."""
    if backend != "torch":
        from .export import check_backend, with_backend

        check_backend(backend)
        threads = {"threads": options.pop("threads")} if "threads" in options else {}
        return with_backend(load_predictor(name, weights, **options), backend, **threads)
    if name is None and weights is not None and Path(weights).suffix.lower() == ".onnx":
        name = "onnx"
    if name is None and weights is None:
        return MODELS.get(DEFAULT_MODEL).meta["predictor"](options.pop("name", DEFAULT_MODEL), None, **options)
    if name is None:
        return load_checkpoint_predictor(weights, **options)
    entry = MODELS.get(name)
    loader = entry.meta.get("predictor")
    if loader is not None:
        return loader(name, weights, **options)
    if weights is None:
        raise ValueError(f"model {name!r} needs --weights/--checkpoint (a ferbench .safetensors checkpoint)")
    return load_checkpoint_predictor(weights, expect_arch=name, **options)
