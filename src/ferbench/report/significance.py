"""Pairwise McNemar tests between runs evaluated on the same samples (same ids with the same labels).

Runs are grouped by the exact set of (id, label) pairs they scored: a degraded or restored copy of a test
split keeps its ids, so its runs pair with the clean ones; different splits or datasets never pair.
"""

from __future__ import annotations

import hashlib
from itertools import combinations
from typing import Any

import numpy as np

from ..metrics import compare_predictions
from ..runs.collect import Run
from ..runs.files import PREDICTIONS, arrays_from_records, read_predictions


def _sample_key(arrays: dict[str, np.ndarray]) -> str:
    pairs = sorted(zip(arrays["ids"].tolist(), arrays["labels"].tolist()))
    return hashlib.sha256(repr(pairs).encode()).hexdigest()


def significance_groups(runs: list[Run], n_boot: int = 200, seed: int = 0) -> list[dict[str, Any]]:
    """One entry per group of >= 2 runs on the same samples: their refs, n, the number of pairs, and a
    matrix of pair results (``None`` on the diagonal). ``cells[i][j]`` compares run i (A) with run j (B)."""
    by_key: dict[str, list[tuple[Run, dict[str, np.ndarray]]]] = {}
    for run in runs:
        arrays = arrays_from_records(read_predictions(run.path / PREDICTIONS))
        if len(arrays["ids"]):
            order = np.argsort(arrays["ids"], kind="stable")
            arrays = {k: v[order] for k, v in arrays.items()}
            # one group per test condition: a matrix of every run on the same faces would not fit a page
            condition = (run.row["degradation"], run.row["severity"])
            by_key.setdefault(f"{_sample_key(arrays)} {condition}", []).append((run, arrays))
    groups = []
    for members in by_key.values():
        if len(members) < 2:
            continue
        size = len(members)
        cells: list[list[dict[str, Any] | None]] = [[None] * size for _ in range(size)]
        for i, j in combinations(range(size), 2):
            (_, a), (_, b) = members[i], members[j]
            result = compare_predictions(a["labels"], a["preds"], b["preds"], n_boot=n_boot, seed=seed)
            cells[i][j] = result
            # The mirrored cell is the same test seen from B: swap the sides, negate the difference.
            low, high = result["accuracy_diff_ci"]
            cells[j][i] = {**result, "accuracy_diff": -result["accuracy_diff"], "accuracy_diff_ci": [-high, -low],
                           "only_a_correct": result["only_b_correct"], "only_b_correct": result["only_a_correct"]}
        pairs = size * (size - 1) // 2
        groups.append({"refs": [m[0].row["ref"] for m in members], "runs": [m[0].row for m in members],
                       "n": int(len(members[0][1]["ids"])), "pairs": pairs, "bonferroni_alpha": 0.05 / pairs,
                       "cells": cells})
    return groups
