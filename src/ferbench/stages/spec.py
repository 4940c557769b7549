"""A stage is what a shard job runs: a restorer or a degradation, rebuilt identically in any process.

``StageSpec`` is plain data (picklable, JSON-able) so the same spec runs in this process, in a local process
pool or in a Ray actor. ``ShardWorker`` builds the stage once per process and runs shards through it, with
the cost of each shard measured by :class:`ferbench.cost.PhaseMeter`.

A stage kind is a package of ferbench with a ``stage`` module (``ferbench.restore.stage``,
``ferbench.degrade.stage``) that gives ``build(spec, prebuilt=None) -> (fn, description)`` and
``record(spec, description) -> dict`` (what the derived dataset's options say about the stage). It is found by
name, so a worker process rebuilds the stage from the spec alone and this package needs no list of kinds.
"""

from __future__ import annotations

import importlib
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


def stage_module(kind: str) -> Any:
    """The module implementing stage ``kind`` (``ferbench.<kind>.stage``)."""
    if not kind.isidentifier():
        raise ValueError(f"unknown stage kind {kind!r}")
    try:
        return importlib.import_module(f"ferbench.{kind}.stage")
    except ModuleNotFoundError as exc:
        if exc.name not in (f"ferbench.{kind}", f"ferbench.{kind}.stage"):
            raise  # the stage exists but a library it needs is missing
        raise ValueError(f"unknown stage kind {kind!r} (no module ferbench.{kind}.stage)") from None


def build(spec: StageSpec, prebuilt: Any = None) -> tuple[Callable[..., np.ndarray], dict[str, Any]]:
    """(fn(images, progress=None) -> images, description for cache keys)."""
    return stage_module(spec.kind).build(spec, prebuilt)


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
                 prebuilt: Any = None):
        set_threads(threads)
        self.spec = spec
        self.fn, self.description = build(spec, prebuilt)
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
