"""Restoration as a stage of :mod:`ferbench.stages`: a whole dataset restored in cached, resumable shards."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..data.dataset import Dataset
from ..stages.runner import SHARD_SIZE, run_stage, shard_cap
from ..stages.spec import StageSpec
from .base import Restorer
from .registry import create_restorer


def restore_dataset(ds: Dataset, restorer: Any, params: dict[str, Any] | None = None,
                    weights: str | Path | None = None, out_dir: str | Path | None = None, workers: int = 1,
                    executor: str = "local", size: int | None = None, channels: int | None = None,
                    shard_size: int = SHARD_SIZE, progress: bool = False) -> Dataset:
    """A new Dataset whose images are ``ds``'s restored by ``restorer`` (a name, or a built Restorer); same
    ids, labels and splits; ``options["restore"]`` records the restorer, parameters and weights hash, so the
    fingerprint differs from ``ds``'s. ``size`` defaults to the input size."""
    params = dict(params or {})
    if weights is not None:
        params["weights"] = str(weights)
    r = restorer if isinstance(restorer, Restorer) else create_restorer(restorer, **params)
    spec = StageSpec("restore", r.name, r.worker_params(), size, channels)
    chans = channels or (3 if r.output == "rgb" or ds.images.ndim == 4 else 1)
    out_hw = (size, size) if isinstance(size, int) else (tuple(size) if size else ds.image_size)
    return run_stage(ds, spec, out_dir, workers, executor, shard_cap(shard_size, out_hw, chans), progress, prebuilt=r)


def build(spec: StageSpec, prebuilt: Restorer | None = None) -> tuple[Callable[..., np.ndarray], dict[str, Any]]:
    """The restorer of ``spec`` (or the one already built by the driver) and its description."""
    r = prebuilt or create_restorer(spec.name, **spec.params)

    def run(images: np.ndarray, progress: Callable[[int], None] | None = None) -> np.ndarray:
        return r.restore(images, size=spec.size, channels=spec.channels, progress=progress)
    return run, {"kind": "restore", "restorer": r.describe(), "size": spec.size, "channels": spec.channels}


def record(spec: StageSpec, description: dict[str, Any]) -> dict[str, Any]:
    """What the restored dataset's options say about its restoration (part of its fingerprint)."""
    r = description["restorer"]
    return {"params": r["params"], "weights_sha256": r["weights_sha256"], "size": spec.size,
            "channels": spec.channels}
