"""What one study cell evaluates: its faces (read, degraded, restored) and its model."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..data.splits import default_split
from .spec import DatasetSpec, ModelSpec, RestorerSpec


class Missing(Exception):
    """A cell cannot run here: its weights or optional dependencies are not available."""


def full_dataset(path: str, ferplus: str | None, label_mode: str):
    """The whole dataset file, read once per process (and again when the file changes)."""
    def stamp(p: str | None) -> tuple[int, int] | None:
        st = os.stat(p) if p and os.path.exists(p) else None
        return (st.st_size, st.st_mtime_ns) if st else None
    return _full_dataset(path, ferplus, label_mode, stamp(path), stamp(ferplus))


@functools.lru_cache(maxsize=4)
def _full_dataset(path: str, ferplus: str | None, label_mode: str, *_stamps: Any):
    from ..data import load_dataset

    return load_dataset(path, ferplus=ferplus, label_mode=label_mode)


def eval_split(spec: DatasetSpec, ds) -> str:
    return default_split(ds) if spec.split == "auto" else spec.split


def eval_dataset(spec: DatasetSpec, seed: int = 0):
    """The faces a cell evaluates: the split, then its first ``limit`` faces or a stratified ``sample``."""
    ds = full_dataset(spec.path, spec.ferplus, spec.label_mode)
    faces = ds.select(eval_split(spec, ds), limit=spec.limit)
    if spec.sample is None or spec.sample >= len(faces):
        return faces
    return faces.subset(stratified_sample(faces.labels, spec.sample, seed))


def stratified_sample(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices (sorted) of ``n`` items drawn without replacement so that each class keeps its share
    (largest-remainder rounding); the same labels, ``n`` and ``seed`` always give the same faces."""
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    quota = counts * n / counts.sum()
    take = np.floor(quota).astype(int)
    take[np.argsort(-(quota - take), kind="stable")[: n - take.sum()]] += 1
    picked = [rng.choice(np.flatnonzero(labels == c), size=k, replace=False) for c, k in zip(classes, take)]
    return np.sort(np.concatenate(picked))


def restorer_kwargs(rs: RestorerSpec) -> dict[str, Any]:
    return {"params": rs.params, "weights": rs.weights, "size": rs.size}


def prepare(ds, degradation: str, severity: int, rs: RestorerSpec | None, seed: int) -> tuple[Any, dict]:
    """Degrade, then restore; returns the dataset and the cost of each stage."""
    from ..cost import PhaseMeter
    from ..degrade import degrade_dataset
    from ..restore import restore_dataset

    cost: dict[str, Any] = {}
    if degradation != "none":
        with PhaseMeter("degradation", items=len(ds)) as m:
            # a resizing degradation (downscale) hands its small faces on: a restorer gets the real low-res
            # input, and without one the model's own resize brings them to its input size
            ds = degrade_dataset(ds, degradation, severity, seed=seed, keep_size=False)
        cost["degradation"] = m.result
    if rs is not None and rs.name != "identity":
        with PhaseMeter("restoration", items=len(ds)) as m:
            ds = restore_dataset(ds, rs.name, **restorer_kwargs(rs))
        cost["restoration"] = {**m.result, "restorer": rs.key, **_stage_cost(ds)}
    return ds, cost


def _stage_cost(ds) -> dict[str, Any]:
    """Per-image cost recorded by the restore stage itself (also when its output came from the cache)."""
    stage = ds.report.get("restore_cost") if isinstance(ds.report, dict) else None
    return {"stage": stage} if stage else {}


def model_weights(m: ModelSpec, results: Path) -> str | None:
    return str(results / "models" / m.name / "model.safetensors") if m.train is not None else m.weights


@functools.lru_cache(maxsize=8)
def _predictor(model: str, weights: str | None, options_json: str, batch_size: int | None, _stamp: Any):
    from ..models import load_predictor

    p = load_predictor(model, weights, **json.loads(options_json))
    if batch_size:
        p.batch_size = batch_size
    return p


def predictor_for(m: ModelSpec, results: Path, batch_size: int | None):
    weights = model_weights(m, results)
    if weights and not Path(weights).exists():
        raise Missing(f"model {m.name}: weights {weights} not found")
    stamp = os.stat(weights).st_mtime_ns if weights and Path(weights).is_file() else None  # retrained: reload
    try:
        return _predictor(m.registered, weights, json.dumps(m.options, sort_keys=True), batch_size, stamp)
    except (FileNotFoundError, ImportError) as exc:
        raise Missing(f"model {m.name}: {exc}") from exc
