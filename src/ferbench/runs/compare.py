"""Two runs on the same samples, compared pairwise (``ferbench compare``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..metrics import compare_predictions
from .files import PREDICTIONS, arrays_from_records, read_predictions


def compare_runs(run_a: str | Path, run_b: str | Path, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """McNemar's exact test and a paired bootstrap of the accuracy difference on the samples both runs
    predicted; counts of the samples only one of them has. Refuses runs that share no sample ids or disagree
    on the labels of shared ones (not the same data)."""
    run_a, run_b = Path(run_a), Path(run_b)
    a = arrays_from_records(read_predictions(run_a / PREDICTIONS))
    b = arrays_from_records(read_predictions(run_b / PREDICTIONS))
    common = sorted(set(a["ids"].tolist()) & set(b["ids"].tolist()))
    if not common:
        raise ValueError(f"{run_a} and {run_b} share no sample ids")
    ia = {k: i for i, k in enumerate(a["ids"].tolist())}
    ib = {k: i for i, k in enumerate(b["ids"].tolist())}
    xa = [ia[k] for k in common]
    xb = [ib[k] for k in common]
    if (a["labels"][xa] != b["labels"][xb]).any():
        raise ValueError("the runs disagree on the labels of shared ids: not the same data")
    result = compare_predictions(a["labels"][xa], a["preds"][xa], b["preds"][xb], n_boot=n_boot, seed=seed)
    result.update(run_a=str(run_a), run_b=str(run_b), only_in_a=len(ia) - len(common), only_in_b=len(ib) - len(common))
    return result
