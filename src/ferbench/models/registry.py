"""The model registry. A model is added in one file:

    @register_model("resnet50", family="cnn", description="ResNet-50 adapted to 48 px faces")
    def resnet50(num_classes=7, in_chans=1, input_size=48, pretrained=None, **kw) -> nn.Module: ...

Families: ``cnn`` (trainable torch modules), ``keras`` (imported HDF5 classifiers), ``clip`` (zero-shot
contrastive VLMs), ``vlm`` (generative VLMs), ``remote`` (OpenAI-compatible servers), ``hybrid``,
``ensemble``.
An entry may give ``predictor=callable(name, weights, **options) -> Predictor``; trainable modules without
one are evaluated through :class:`ferbench.models.torch_predictor.TorchPredictor` from a checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..registry import Entry, Registry

MODELS: Registry[Callable[..., Any]] = Registry("model", builtin_modules=(
    "ferbench.models.cnn",
    "ferbench.models.efficientnet_lite",
    "ferbench.models.keras",
    "ferbench.models.vlm",
    "ferbench.models.ours",
    "ferbench.models.ensemble",
))


def register_model(name: str, family: str, **meta: Any) -> Callable:
    return MODELS.register(name, family=family, **meta)


def list_models(family: str | None = None) -> list[str]:
    return MODELS.names(**({"family": family} if family else {}))


def get_model_entry(name: str) -> Entry:
    return MODELS.get(name)


def create_model(name: str, **kwargs: Any):
    """Build the model ``name`` (for trainable families: an ``nn.Module`` with FER-order outputs)."""
    return MODELS.get(name).fn(**kwargs)


def member_options(declared: dict[str, Any], consent: bool) -> dict[str, Any]:
    """A member's options from a spec file (fusion, ensemble): ``trust_remote_code`` reaches the members that
    ask for it only when this run gave consent; consent is never inherited from a file."""
    options = {k: v for k, v in declared.items() if k != "trust_remote_code"}
    if consent and declared.get("trust_remote_code"):
        options["trust_remote_code"] = True
    return options


def load_predictor(name: str | None = None, weights: str | Path | None = None, **options: Any):
    """A ready :class:`Predictor`. ``name`` may be omitted when ``weights`` is a ferbench checkpoint (its
    config names the architecture); with neither, the packaged default model is used."""
    from .torch_predictor import TorchPredictor

    if name is None and weights is None:
        from . import default_model

        return default_model.load(**options)
    if name is None:
        return TorchPredictor.from_checkpoint(weights, **options)
    entry = MODELS.get(name)
    loader = entry.meta.get("predictor")
    if loader is not None:
        return loader(name, weights, **options)
    if weights is None:
        raise ValueError(f"model {name!r} needs --weights/--checkpoint (a ferbench .safetensors checkpoint)")
    return TorchPredictor.from_checkpoint(weights, expect_arch=name, **options)
