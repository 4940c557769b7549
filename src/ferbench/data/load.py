"""``load_dataset``: one entry point for every supported source, with caching and split selection."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .dataset import Dataset
from .errors import DataError, OnBad
from .ferplus import LabelMode, apply_ferplus
from .readers import reader_for


def load_dataset(path: str | Path, split: str | Sequence[str] | None = None, on_bad: OnBad = OnBad.error,
                 ferplus: str | Path | None = None, label_mode: LabelMode = LabelMode.majority,
                 size: int | None = None, limit: int | None = None, use_cache: bool = True) -> Dataset:
    """Read a FER-2013 CSV (``.csv``/``.csv.gz``, Kaggle or ICML variant) or an image folder.

    ``split`` keeps one or more splits (``Training``, ``PublicTest``, ``PrivateTest``; ``train``/``val``
    aliases work); ``ferplus`` replaces the labels with FER+ labels (``label_mode``); ``limit`` keeps the
    first N samples after selection.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(path, "no such file or folder")
    ds = reader_for(path).fn(path, on_bad=on_bad, size=size, use_cache=use_cache)
    if ferplus is not None:
        ds = apply_ferplus(ds, ferplus, label_mode)
    return ds.select(split, limit=limit) if (split or limit) else ds
