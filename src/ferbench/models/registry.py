"""The model table: names, families, descriptions and how each entry is built or loaded. It only stores;
building and loading live in :mod:`ferbench.models.factory`. A model is added in one file:

    @register_model("resnet50", family="cnn", description="ResNet-50 adapted to 48 px faces")
    def resnet50(num_classes=7, in_chans=1, input_size=48, pretrained=None, **kw) -> nn.Module: ...

Families: ``cnn`` (trainable torch modules), ``keras`` (imported HDF5 classifiers), ``clip`` (zero-shot
contrastive VLMs), ``vlm`` (generative VLMs), ``remote`` (OpenAI-compatible servers), ``hybrid``,
``ensemble``.

Entry contract: the decorated function builds a trainable ``nn.Module`` (``create_model``). An entry may also
give ``predictor=callable(name, weights, **options) -> Predictor``; one registered with its loader as the
decorated function (``register_model(..., predictor=load)(load)``) is predictor-only: ``create_model`` refuses
it with a clear error. Trainable modules without a loader are evaluated from a ferbench checkpoint. An entry
that ships files it loads without ``weights`` names them as ``packaged_files`` (paths, or a callable giving them):
study cells hash those files (``models/files.py``); without it, every file ferbench ships.
"""

from __future__ import annotations

from typing import Any, Callable

from ..registry import Entry, Registry

#: The packaged model used when neither a name nor weights are given (see ``models/default_model.py``): the most
#: accurate packaged model that runs at least 100 faces/s on the reference CPU (models/weights/MODEL_CARD.md).
DEFAULT_MODEL = "fernet_kd2"

MODELS: Registry[Callable[..., Any]] = Registry("model", package="ferbench.models")


def register_model(name: str, family: str, **meta: Any) -> Callable:
    return MODELS.register(name, family=family, **meta)


def list_models(family: str | None = None) -> list[str]:
    return MODELS.names(**({"family": family} if family else {}))


def get_model_entry(name: str) -> Entry:
    return MODELS.get(name)


def builds_module(entry: Entry) -> bool:
    """Whether ``create_model`` can build this entry (False for predictor-only entries: VLMs, ensembles...)."""
    return entry.fn is not entry.meta.get("predictor")
