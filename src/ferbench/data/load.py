"""``load_dataset``: one entry point for every supported source, with caching and split selection."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .cache import cached_read
from .dataset import Dataset
from .errors import DataError, OnBad
from .fer_csv import read_fer_csv
from .ferplus import LabelMode, apply_ferplus
from .folder import read_image_folder


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
    if path.is_dir():
        ds = read_image_folder(path, on_bad=on_bad, size=size)
    else:
        ds = cached_read(path, read_fer_csv, {"on_bad": OnBad(on_bad).value}, use_cache=use_cache)
        if size is not None and size != ds.image_size[0]:
            raise DataError(path, f"--size {size} applies to image folders; CSV faces are {ds.image_size[0]}px")
    if ferplus is not None:
        ds = apply_ferplus(ds, ferplus, label_mode)
    return ds.select(split, limit=limit) if (split or limit) else ds
