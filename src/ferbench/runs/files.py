"""The files of a run directory, and reading them back (for ``report``, ``compare`` and resuming)."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..emotions import EMOTIONS, INDEX

RUN_JSON, PREDICTIONS, METRICS = "run.json", "predictions.jsonl", "metrics.json"


def new_run_dir(root: str | Path = "runs", name: str = "run") -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path(root) / f"{stamp}-{name}"
    k = 1
    while path.exists():
        k += 1
        path = Path(root) / f"{stamp}-{name}-{k}"
    path.mkdir(parents=True)
    return path


def prediction_record(sample_id: str, label: int, pred: int, proba: np.ndarray | None,
                      raw: str | None = None) -> dict[str, Any]:
    rec: dict[str, Any] = {"id": str(sample_id), "label": EMOTIONS[label] if label >= 0 else None,
                           "prediction": EMOTIONS[pred] if pred >= 0 else None}
    rec["probabilities"] = (None if proba is None or not np.isfinite(proba).all()
                            else {c: round(float(p), 6) for c, p in zip(EMOTIONS, proba)})
    if raw is not None:
        rec["raw"] = raw
    return rec


def read_predictions(path: str | Path, repair: bool = False) -> list[dict[str, Any]]:
    """Records of predictions.jsonl. A torn last line (the process was killed mid-write) is dropped, and
    with ``repair`` the file is truncated back to its last complete line."""
    path = Path(path)
    if not path.exists():
        return []
    records, good_bytes = [], 0
    with open(path, "rb") as fh:
        for line in fh:
            try:
                if not line.endswith(b"\n"):
                    raise ValueError("torn line")
                records.append(json.loads(line))
            except ValueError:
                break
            good_bytes += len(line)
    if repair and good_bytes != path.stat().st_size:
        with open(path, "r+b") as fh:
            fh.truncate(good_bytes)
    return records


def append_predictions(path: Path, records: list[dict[str, Any]]) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(r) + "\n" for r in records))
        fh.flush()
        os.fsync(fh.fileno())


def arrays_from_records(records: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """ids, labels, predictions (-1 = unscored) and probabilities (NaN rows when absent) in FER order."""
    ids = np.array([r["id"] for r in records], dtype=str)
    labels = np.array([INDEX[r["label"]] if r["label"] is not None else -1 for r in records], dtype=np.int64)
    preds = np.array([INDEX[r["prediction"]] if r["prediction"] is not None else -1 for r in records], dtype=np.int64)
    proba = np.full((len(records), len(EMOTIONS)), np.nan, dtype=np.float64)
    for i, r in enumerate(records):
        if r.get("probabilities"):
            proba[i] = [r["probabilities"][c] for c in EMOTIONS]
    return {"ids": ids, "labels": labels, "preds": preds, "proba": proba}


def load_run(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not (path / RUN_JSON).exists():
        raise FileNotFoundError(f"{path}: not a ferbench run (no {RUN_JSON})")
    run = json.loads((path / RUN_JSON).read_text())
    run["dir"] = str(path)
    if (path / METRICS).exists():
        run["metrics"] = json.loads((path / METRICS).read_text())
    return run


def iter_runs(root: str | Path) -> Iterator[Path]:
    """Every run directory under ``root`` (a run dir itself, or any folder holding runs)."""
    root = Path(root)
    if (root / RUN_JSON).exists():
        yield root
        return
    for run_json in sorted(root.rglob(RUN_JSON)):
        yield run_json.parent
