"""The results store: every run under a results folder flattened into one table, saved as Parquet.

One row per finished run (columns: see :func:`ferbench.runs.collect.flatten`): identity (``run_id``,
``run_dir``, ``study``, ``cell``), setting (``model``, ``dataset``, ``split``, ``degradation``,
``severity``, ``restorer``), metrics with CI bounds (``accuracy``, ``accuracy_ci_low``...), the
de-duplicated metrics (``dedup_*``), per-class F1 (``f1_<emotion>``) and cost per phase
(``<phase>_wall_s``, ``<phase>_items_per_s``..., ``params``, ``flops_per_image``).

    >>> import pandas as pd
    >>> df = pd.read_parquet("results/store.parquet")
    >>> df.sort_values("accuracy", ascending=False)[["model", "restorer", "accuracy", "accuracy_ci_low"]]
"""

from __future__ import annotations

from pathlib import Path

from ..utils.io import atomic_path
from .collect import collect

STORE = "store.parquet"


def runs_frame(results: str | Path):
    """The store table of ``results`` as a pandas DataFrame (not written anywhere)."""
    import pandas as pd

    rows = [r.row for r in collect(results).runs]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=["run_id", "ref", "model", "accuracy"])


def build_store(results: str | Path, path: str | Path | None = None) -> Path:
    """Write the store of ``results`` to ``path`` (default ``RESULTS/store.parquet``), atomically, and
    return its path. Rebuilt from the run directories each time, so it never disagrees with them."""
    out = Path(path) if path else Path(results) / STORE
    frame = runs_frame(results)
    with atomic_path(out) as tmp:
        frame.to_parquet(tmp, engine="pyarrow", index=False)
    return out
