"""Soft training targets keyed by row: a teacher's probabilities (distillation) and FER+ vote distributions.

A teacher file is a safetensors file: ``probs`` (N×7 float32, FER order) and metadata naming the dataset's
content hash, the split and the N row ids (JSON), so that probabilities join the training rows by id, never by
position. Teachers are only ever run on training rows: writing refuses evaluation splits, and training refuses a
file that holds any row of the validation or test splits.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..data.dataset import Dataset, canonical_split
from ..data.splits import is_eval_split
from ..emotions import EMOTIONS, NUM_CLASSES
from ..utils.io import atomic_path

FORMAT = "ferbench-teacher-1"


def write_teacher_probs(predict: Callable[[np.ndarray], np.ndarray], ds: Dataset, split: str, out: str | Path,
                        describe: dict[str, Any] | None = None, batch_size: int = 256,
                        progress: Callable[[int, int], None] | None = None) -> Path:
    """Run ``predict`` (uint8 images -> N×7 probabilities, FER order) on ``ds``'s ``split`` rows and write them to
    ``out`` (a new file: an existing one is never replaced)."""
    from safetensors.numpy import save_file

    if is_eval_split(split):
        raise ValueError(f"teacher targets are for training rows only, not split {split!r} (validation and test "
                         "rows must stay unseen by training)")
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"{out} already exists; choose a new --out")
    rows = ds.select(split)
    if len(rows) == 0:
        raise ValueError(f"{ds.source}: split {split!r} has no rows")
    probs = np.empty((len(rows), NUM_CLASSES), dtype=np.float32)
    for start in range(0, len(rows), batch_size):
        p = np.asarray(predict(rows.images[start:start + batch_size]), dtype=np.float32)
        if p.shape != (min(batch_size, len(rows) - start), NUM_CLASSES) or not np.isfinite(p).all():
            raise ValueError(f"teacher returned {p.shape} (finite: {np.isfinite(p).all()}) for a batch of images")
        probs[start:start + len(p)] = p
        if progress:
            progress(start + len(p), len(rows))
    meta = {"format": FORMAT, "source_sha256": rows.source_hash, "fingerprint": rows.fingerprint,
            "split": canonical_split(split), "ids": json.dumps(rows.ids.tolist()), "labels": json.dumps(list(EMOTIONS)),
            "teacher": json.dumps(describe or {}, default=str)}
    with atomic_path(out) as tmp:
        save_file({"probs": probs}, str(tmp), metadata=meta)
    return out


def read_teacher_probs(path: str | Path, train: Dataset, full: Dataset | None = None) -> np.ndarray:
    """The teacher's probabilities for ``train``'s rows, in ``train``'s order. Refuses a file made from other data,
    one that lacks some training rows, and one holding any row of an evaluation split of ``full``."""
    from safetensors import safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="numpy") as fh:
            meta = fh.metadata() or {}
            probs = fh.get_tensor("probs")
    except Exception as exc:  # safetensors raises its own error types for a malformed file
        raise ValueError(f"{path}: not a teacher-probabilities file ({exc})") from exc
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not a teacher-probabilities file (format {meta.get('format')!r})")
    if json.loads(meta["labels"]) != list(EMOTIONS):
        raise ValueError(f"{path}: classes {meta['labels']} are not FER order")
    if meta["source_sha256"] != train.source_hash:
        raise ValueError(f"{path}: made from data {meta['source_sha256'][:12]}, not {train.source} "
                         f"({train.source_hash[:12]})")
    ids = np.asarray(json.loads(meta["ids"]), dtype=str)
    if probs.shape != (len(ids), NUM_CLASSES):
        raise ValueError(f"{path}: probs {probs.shape} for {len(ids)} ids")
    if full is not None:
        leaked = np.isin(ids, full.ids[[is_eval_split(s) for s in full.splits]])
        if leaked.any():
            raise ValueError(f"{path}: holds teacher outputs for {int(leaked.sum())} validation/test rows (e.g. id "
                             f"{ids[leaked][0]}); distillation targets must come from training rows only")
    index = {i: k for k, i in enumerate(ids.tolist())}
    missing = [i for i in train.ids.tolist() if i not in index]
    if missing:
        raise ValueError(f"{path}: no teacher probabilities for {len(missing)} of {len(train)} training rows "
                         f"(e.g. id {missing[0]})")
    return probs[[index[i] for i in train.ids.tolist()]]


def ferplus_vote_targets(train: Dataset, votes_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(N×7 FER+ vote distributions, N bool has-votes) for ``train``'s rows, joined by CSV row id. Rows FER+ drops,
    leaves without a FER-class winner or ties (see :mod:`ferbench.data.ferplus`) have no votes (all zero)."""
    from ..data.ferplus import apply_ferplus

    soft = apply_ferplus(train, votes_path, mode="soft")
    index = {i: k for k, i in enumerate(soft.ids.tolist())}
    dist = np.zeros((len(train), NUM_CLASSES), dtype=np.float32)
    has = np.zeros(len(train), dtype=bool)
    for row, i in enumerate(train.ids.tolist()):
        if i in index:
            dist[row], has[row] = soft.soft_labels[index[i]], True
    return dist, has
