"""Degradation as a stage of :mod:`ferbench.stages`: in memory (it is cheap) or as a sharded, cached job."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..data.dataset import Dataset
from ..stages.runner import SHARD_SIZE, derive, run_stage, shard_cap, stage_key
from ..stages.spec import ShardWorker, StageSpec
from .registry import degrade_images, get_degradation_entry


def degrade_dataset(ds: Dataset, name: str, severity: int, seed: int = 0, out_dir: str | Path | None = None,
                    workers: int = 1, executor: str = "local", shard_size: int = SHARD_SIZE,
                    progress: bool = False, in_memory: bool = True, keep_size: bool = True) -> Dataset:
    """A new Dataset with degradation ``name`` at ``severity`` applied (deterministic given ``seed``); with
    ``keep_size`` False a resizing degradation (downscale) leaves its small images.
    Computed in memory (it is cheap) unless ``in_memory`` is False, ``out_dir`` is given or another executor
    is asked for; then it runs as a sharded job like a restoration (cached under ``$FERBENCH_CACHE/degrade``)."""
    params = {"severity": int(severity), "seed": int(seed), **({} if keep_size else {"keep_size": False})}
    spec = StageSpec("degrade", name, params)
    if in_memory and out_dir is None and executor == "local" and workers <= 1:
        worker = ShardWorker(spec)
        key = stage_key(ds, worker.description)
        _, images, _ = worker.run(0, ds.images)
        return derive(ds, images, spec, worker.description, key)
    chans = 3 if ds.images.ndim == 4 else 1
    return run_stage(ds, spec, out_dir, workers, executor, shard_cap(shard_size, ds.image_size, chans), progress)


def build(spec: StageSpec, prebuilt: Any = None) -> tuple[Callable[..., np.ndarray], dict[str, Any]]:
    """The degradation of ``spec`` at its severity and seed, and its description (with the OpenCV version)."""
    entry = get_degradation_entry(spec.name)
    severity, seed = int(spec.params["severity"]), int(spec.params.get("seed", 0))
    keep_size = bool(spec.params.get("keep_size", True))

    def run(images: np.ndarray, progress: Callable[[int], None] | None = None) -> np.ndarray:
        out = degrade_images(images, spec.name, severity, seed, keep_size=keep_size)
        if progress:
            progress(len(images))
        return out
    level = entry.meta["levels"][severity - 1] if severity else None
    small = {"keep_size": False} if not keep_size and entry.meta.get("resizes") else {}  # else: the same bytes
    return run, {"kind": "degrade", "name": spec.name, "severity": severity, "seed": seed, "level": level,
                 **small, "impl_version": entry.meta.get("impl_version", 1), "libraries": _cv2_version()}


def record(spec: StageSpec, description: dict[str, Any]) -> dict[str, Any]:
    """What the degraded dataset's options say about its degradation (part of its fingerprint)."""
    return {"severity": description["severity"], "seed": description["seed"],
            **({"keep_size": False} if "keep_size" in description else {})}


def _cv2_version() -> dict[str, str]:
    import cv2

    return {"opencv": cv2.__version__}
