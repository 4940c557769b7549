"""Duplicate and leakage audit: exact duplicates (identical pixels) and near duplicates (perceptual hash).

FER-2013 contains the same photo several times, sometimes under different labels and across splits;
a test face whose twin is in Training inflates test accuracy. The audit finds these groups and writes
the ids of a de-duplicated ("clean") test split that evaluation can use (``--exclude-leaked``).

Near duplicates: the 64-bit DCT perceptual hash of ``imagehash.phash`` (32×32 Lanczos, 8×8 low
frequencies vs. their median), computed in batch. Two faces are near duplicates when the Hamming distance
of their hashes is at most :data:`NEAR_THRESHOLD`. On the shared FER-2013 file, pairs at distance 2–6
were, on inspection of random samples, the same photo shifted or re-cropped; at 8 some pairs are
different people, so 6 is the default. Near-constant (blank) images all hash alike and are left out of
near-duplicate groups; they are reported on their own.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

import numpy as np
import scipy.fft
from PIL import Image
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .dataset import SPLITS, Dataset

NEAR_THRESHOLD = 6
BLANK_STD = 2.0  # pixel standard deviation below which an image is "near-constant"
TRAIN_SPLIT = "Training"


def phash(images: np.ndarray) -> np.ndarray:
    """64-bit perceptual hashes (uint64), bit-identical to ``imagehash.phash``."""
    gray = images if images.ndim == 3 else np.asarray([np.asarray(Image.fromarray(a).convert("L")) for a in images])
    small = np.stack([np.asarray(Image.fromarray(a).resize((32, 32), Image.LANCZOS)) for a in gray])
    dct = scipy.fft.dct(scipy.fft.dct(small.astype(np.float64), axis=1), axis=2)[:, :8, :8].reshape(len(small), 64)
    bits = dct > np.median(dct, axis=1, keepdims=True)
    return np.packbits(bits, axis=1).view(">u8").ravel().astype(np.uint64)


def exact_keys(images: np.ndarray) -> np.ndarray:
    """One digest per image: equal digests <=> identical pixels."""
    flat = images.reshape(len(images), -1)
    return np.array([hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in flat], dtype="S16")


def near_pairs(hashes: np.ndarray, threshold: int, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """All pairs i < j with Hamming(hash_i, hash_j) <= threshold (chunked brute force: ~1e9 XORs for FER-2013)."""
    rows, cols = [], []
    for lo in range(0, len(hashes), chunk):
        dist = np.bitwise_count(hashes[lo:lo + chunk, None] ^ hashes[None, lo:])
        i, j = np.nonzero(dist <= threshold)
        keep = j > i
        rows.append(i[keep] + lo)
        cols.append(j[keep] + lo)
    return np.concatenate(rows), np.concatenate(cols)


def _groups(n: int, rows: np.ndarray, cols: np.ndarray) -> list[np.ndarray]:
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    order = np.argsort(component, kind="stable")
    sizes = np.bincount(component)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return [order[s:s + k] for s, k in zip(starts, sizes) if k > 1]


def _summarise(ds: Dataset, groups: list[np.ndarray]) -> dict[str, Any]:
    cross: Counter[str] = Counter()
    twins: dict[str, set[int]] = {}
    conflicting = 0
    for g in groups:
        splits = ds.splits[g]
        present = [s for s in SPLITS if s in set(splits)] + sorted(set(splits) - set(SPLITS))
        if len(present) > 1:
            cross["/".join(present)] += 1
        if len(set(ds.labels[g].tolist())) > 1:
            conflicting += 1
        for split in present:
            if split != TRAIN_SPLIT and TRAIN_SPLIT in present:
                twins.setdefault(split, set()).update(g[splits == split].tolist())
    return {
        "groups": len(groups),
        "rows": int(sum(len(g) for g in groups)),
        "conflicting_label_groups": conflicting,
        "cross_split_groups": dict(sorted(cross.items())),
        "cross_split_groups_total": int(sum(cross.values())),
        "test_rows_with_training_twin": {k: len(v) for k, v in sorted(twins.items())},
    }


def _group_records(ds: Dataset, groups: list[np.ndarray]) -> list[dict[str, Any]]:
    return [{"ids": ds.ids[g].tolist(), "labels": ds.labels[g].tolist(), "splits": ds.splits[g].tolist()}
            for g in groups]


def audit(ds: Dataset, threshold: int = NEAR_THRESHOLD, with_groups: bool = True) -> dict[str, Any]:
    """The audit report (JSON-able). ``leaked_ids`` lists, per non-training split, the ids that have an
    exact or near twin in an earlier split (Training; for PrivateTest also PublicTest, used for selection)."""
    n = len(ds)
    keys = exact_keys(ds.images)
    _, inverse = np.unique(keys, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    same = inverse[order[1:]] == inverse[order[:-1]]
    exact = _groups(n, order[:-1][same], order[1:][same])

    flat = ds.images.reshape(n, -1)
    blank = flat.std(axis=1) < BLANK_STD
    hashes = phash(ds.images)
    rows, cols = near_pairs(hashes, threshold)
    keep = ~blank[rows] & ~blank[cols]
    near = _groups(n, np.concatenate([rows[keep], order[:-1][same]]), np.concatenate([cols[keep], order[1:][same]]))

    leaked = _leaked(ds, near)
    report: dict[str, Any] = {
        "source": ds.source, "source_sha256": ds.source_hash, "fingerprint": ds.fingerprint, "n": n,
        "splits": {s: int(np.count_nonzero(ds.splits == s)) for s in ds.split_names},
        "exact": _summarise(ds, exact),
        "near": {"method": "phash-64 (imagehash-compatible)", "max_hamming": threshold, **_summarise(ds, near)},
        "blank": {"rule": f"pixel std < {BLANK_STD}", "rows": int(blank.sum()), "ids": ds.ids[blank].tolist()},
        "leaked_ids": {s: sorted(ids, key=_id_sort) for s, ids in leaked.items()},
    }
    if with_groups:
        report["exact"]["group_list"] = _group_records(ds, exact)
        report["near"]["group_list"] = _group_records(ds, near)
    return report


def _leaked(ds: Dataset, groups: list[np.ndarray]) -> dict[str, list[str]]:
    """Ids of each evaluation split with a twin in a split that comes before it (training or selection)."""
    before = {"PublicTest": {TRAIN_SPLIT}, "PrivateTest": {TRAIN_SPLIT, "PublicTest"}}
    out: dict[str, set[str]] = {s: set() for s in ds.split_names if s != TRAIN_SPLIT}
    for g in groups:
        splits = set(ds.splits[g].tolist())
        for split in out:
            earlier = before.get(split, {TRAIN_SPLIT})
            if split in splits and splits & earlier:
                out[split].update(ds.ids[g][ds.splits[g] == split].tolist())
    return {k: list(v) for k, v in out.items()}


def _id_sort(value: str) -> tuple[int, Any]:
    return (0, int(value)) if value.isdigit() else (1, value)


def clean_split(ds: Dataset, report: dict[str, Any]) -> dict[str, Any]:
    """The de-duplicated evaluation splits: every non-training id minus the leaked ones."""
    splits = {}
    for split, leaked in report["leaked_ids"].items():
        ids = ds.ids[ds.splits == split]
        leaked_set = set(leaked)
        splits[split] = {"kept": [i for i in ids.tolist() if i not in leaked_set], "excluded": leaked}
    return {"source_sha256": ds.source_hash, "rule": f"no exact or phash<={report['near']['max_hamming']} twin in "
            "an earlier split (Training; for PrivateTest also PublicTest)", "splits": splits}
