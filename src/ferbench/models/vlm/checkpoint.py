"""A probed or fine-tuned CLIP classifier written as an ordinary ferbench checkpoint, with its provenance:
the base model, the data it was fitted and selected on, the training report and the library versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from ...data.dataset import Dataset
from ...utils.provenance import versions
from ..checkpoint import save_checkpoint
from ..config import ModelConfig
from ..torch_predictor import TorchPredictor


def save_classifier(module: nn.Module, base: TorchPredictor, report: dict[str, Any], ds: Dataset, train: Dataset,
                    val: Dataset, path: str | Path) -> Path:
    """Write ``module`` (a ClipClassifier made from ``base``) to ``path`` (.safetensors + .json); returns the
    path written. ``ferbench eval --weights PATH`` loads it."""
    described = base.describe()
    provenance = {"base_model": {k: described.get(k) for k in ("name", "weights", "weights_sha256", "source",
                                                                "zero_shot")},
                  "data": {"source": ds.source, "sha256": ds.source_hash, "train": {"split": sorted(set(
                      train.splits.tolist())), "n": len(train), "fingerprint": train.fingerprint},
                      "val": {"split": sorted(set(val.splits.tolist())), "n": len(val)}},
                  "report": report, "versions": versions()}
    config = ModelConfig(arch="clip_classifier", preprocess=base.config.preprocess,
                         arch_kwargs=base.config.arch_kwargs, provenance=provenance)
    return save_checkpoint(module, config, path)
