"""FER+ relabelling (Barsoum et al. 2016): ten crowd votes per FER-2013 row, joined by row order.

As in the FER+ reference code (``FERPlus/src/ferplus.py``), an emotion with a single vote is treated
as an outlier and its vote is removed before labelling. Label modes:
- ``majority``: the emotion with more than half of the valid votes; rows without one are excluded;
- ``plurality``: the emotion with the most votes; ties are excluded;
- ``soft``: the vote distribution over the 7 FER emotions (``soft_labels``), hard label = plurality.
Rows whose winner is ``unknown``, ``NF`` (not a face) or ``contempt`` (no FER-2013 class), and rows FER+
dropped (no image name), are excluded and counted by reason in ``dataset.report["ferplus_excluded"]``.
"""

from __future__ import annotations

from dataclasses import replace
from enum import Enum
from pathlib import Path

import numpy as np
import pandas as pd

from ..emotions import FERPLUS, FERPLUS_TO_FER, INDEX, NUM_CLASSES
from ..utils.io import sha256_file
from .dataset import Dataset
from .errors import DataError


class LabelMode(str, Enum):
    majority = "majority"
    plurality = "plurality"
    soft = "soft"


def read_ferplus_votes(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(votes N×10 in :data:`FERPLUS` order, has_image N bool) from ``fer2013new.csv``."""
    path = Path(path)
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise DataError(path, f"cannot read FER+ votes: {exc}") from exc
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in FERPLUS if c not in frame.columns]
    if missing:
        raise DataError(path, f"missing FER+ column(s) {missing}; found {list(frame.columns)}")
    votes = frame[list(FERPLUS)].to_numpy()
    if not np.issubdtype(votes.dtype, np.number) or (votes < 0).any():
        raise DataError(path, "vote columns must be non-negative integers")
    has_image = frame["Image name"].notna().to_numpy() if "Image name" in frame.columns else np.ones(len(frame), bool)
    return votes.astype(np.int64), has_image


def apply_ferplus(ds: Dataset, votes_path: str | Path, mode: LabelMode = LabelMode.majority) -> Dataset:
    """Replace ``ds``'s labels by FER+ labels. ``ds`` must be read from a Kaggle CSV (ids are row numbers)."""
    mode = LabelMode(mode)
    votes, has_image = read_ferplus_votes(votes_path)
    if not ds.ids.size or not np.char.isdigit(ds.ids).all():
        raise DataError(ds.source, "FER+ labels join by CSV row number; this dataset is not a FER-2013 CSV")
    rows = ds.ids.astype(np.int64)
    if rows.max() >= len(votes):
        raise DataError(votes_path, f"has {len(votes)} rows but {ds.source} has row {rows.max()}")
    v = np.where(votes[rows] <= 1, 0, votes[rows])  # single votes are outliers (FER+ reference code)
    # Votes that map to a FER class, as a N×7 matrix in FER order.
    fer_votes = np.zeros((len(rows), NUM_CLASSES), dtype=np.float64)
    for j, name in enumerate(FERPLUS):
        if FERPLUS_TO_FER[name] is not None:
            fer_votes[:, INDEX[FERPLUS_TO_FER[name]]] = v[:, j]
    total = v.sum(axis=1)
    winner = v.argmax(axis=1)
    top = v.max(axis=1)
    tie = (v == top[:, None]).sum(axis=1) > 1
    reason = np.full(len(rows), "", dtype=object)
    reason[~has_image[rows]] = "dropped by FER+"
    reason[(reason == "") & (total == 0)] = "no votes"
    if mode is LabelMode.majority:
        reason[(reason == "") & (2 * top <= total)] = "no majority"
    else:
        reason[(reason == "") & tie] = "tie"
    for j, name in enumerate(FERPLUS):
        if FERPLUS_TO_FER[name] is None:
            reason[(reason == "") & (winner == j)] = f"winner is {name}"
    keep = np.flatnonzero(reason == "")
    labels = np.array([INDEX[FERPLUS_TO_FER[FERPLUS[w]]] for w in winner[keep]], dtype=np.int64)
    soft = None
    if mode is LabelMode.soft:
        soft = (fer_votes[keep] / fer_votes[keep].sum(axis=1, keepdims=True)).astype(np.float32)
    excluded = pd.Series(reason[reason != ""]).value_counts().to_dict()
    out = ds.subset(keep, options={**ds.options, "ferplus": mode.value, "ferplus_sha256": sha256_file(votes_path)},
                    report={**ds.report, "ferplus_mode": mode.value,
                            "ferplus_excluded": {str(k): int(c) for k, c in excluded.items()}})
    return replace(out, labels=labels, soft_labels=soft, name=ds.name + "+ferplus")
