"""A stage is what a shard job runs: a restorer or a degradation, rebuilt identically in any process.

``StageSpec`` is plain data (picklable, JSON-able) so the same spec runs in this process, in a local process
pool or in a Ray actor. ``ShardWorker`` builds the stage once per process and runs shards through it, with
the cost of each shard measured by :class:`ferbench.cost.PhaseMeter`.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True)
class StageSpec:
    kind: str                 # "restore" or "degrade"
    name: str                 # restorer or degradation name
    params: dict[str, Any] = field(default_factory=dict)  # restorer params / {"severity": s, "seed": seed}
    size: int | tuple[int, int] | None = None  # restore: output size (None: the input size)
    channels: int | None = None                # restore: 1 or 3 (None: the restorer's own)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def build(spec: StageSpec, restorer: Any = None) -> tuple[Callable[..., np.ndarray], dict[str, Any]]:
    """(fn(images, progress=None) -> images, description for cache keys)."""
    if spec.kind == "restore":
        from .registry import create_restorer

        r = restorer or create_restorer(spec.name, **spec.params)

        def run(images: np.ndarray, progress: Callable[[int], None] | None = None) -> np.ndarray:
            return r.restore(images, size=spec.size, channels=spec.channels, progress=progress)
        return run, {"kind": "restore", "restorer": r.describe(), "size": spec.size, "channels": spec.channels}
    if spec.kind == "degrade":
        from ..degrade.registry import degrade_images, get_degradation_entry

        entry = get_degradation_entry(spec.name)
        severity, seed = int(spec.params["severity"]), int(spec.params.get("seed", 0))

        def run(images: np.ndarray, progress: Callable[[int], None] | None = None) -> np.ndarray:
            out = degrade_images(images, spec.name, severity, seed)
            if progress:
                progress(len(images))
            return out
        level = entry.meta["levels"][severity - 1] if severity else None
        return run, {"kind": "degrade", "name": spec.name, "severity": severity, "seed": seed, "level": level,
                     "impl_version": entry.meta.get("impl_version", 1), "libraries": _cv2_version()}
    raise ValueError(f"unknown stage kind {spec.kind!r} (restore, degrade)")


def _cv2_version() -> dict[str, str]:
    import cv2

    return {"opencv": cv2.__version__}


def set_threads(threads: int | None) -> None:
    """Split the cores between workers, so N workers do not each start a thread per core."""
    if not threads:
        return
    import cv2
    import torch

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)


class ShardWorker:
    def __init__(self, spec: StageSpec, threads: int | None = None, expect: dict[str, Any] | None = None,
                 restorer: Any = None):
        set_threads(threads)
        self.spec = spec
        self.fn, self.description = build(spec, restorer)
        if expect is not None and self.description != expect:
            raise RuntimeError(f"this worker built a different {spec.kind} stage than the driver: "
                               f"{self.description} != {expect} (different library versions or weights?)")

    def run(self, index: int, images: np.ndarray,
            progress: Callable[[int], None] | None = None) -> tuple[int, np.ndarray, dict[str, Any]]:
        from ..cost import PhaseMeter

        with PhaseMeter(self.spec.kind, items=len(images)) as meter:
            out = self.fn(images, progress)
        cost = dict(meter.result)
        cost["s_per_image"] = round(cost["wall_s"] / max(1, len(images)), 6)
        return index, out, cost
