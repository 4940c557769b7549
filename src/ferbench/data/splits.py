"""Which rows an evaluation scores: the default test split, and the clean-split file that removes leaked rows.

Both ``ferbench eval`` and studies (``split: auto``, audits) call these, so they mean the same thing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from pydantic import BaseModel, ConfigDict, ValidationError

from .dataset import Dataset, canonical_split
from .errors import DataError

#: Splits that are never chosen by default: they hold (or may hold) the rows models are trained on.
NOT_TEST = ("Training", "Unsplit")
#: Splits models are selected or scored on: training must never see their rows (teacher targets, augmentation).
EVAL_SPLITS = ("PublicTest", "PrivateTest")


def is_eval_split(split: str) -> bool:
    """PublicTest, PrivateTest, or a folder's ``test`` split: rows a model is selected or scored on."""
    name = canonical_split(split)
    return name in EVAL_SPLITS or "test" in name.lower()


def default_split(ds: Dataset) -> str:
    """PrivateTest, else PublicTest, else the one other non-training split (an image folder's ``test/``).

    A dataset with only training or unsplit rows (Kaggle's ``train.csv``, a Training-only file) is refused
    with a DataError that lists its splits: scoring the rows models were trained on must be asked for."""
    names = ds.split_names
    for split in ("PrivateTest", "PublicTest"):
        if split in names:
            return split
    others = [s for s in names if s not in NOT_TEST]
    if len(others) == 1:
        return others[0]
    counts = ", ".join(f"{s} ({int((ds.splits == s).sum()):,} rows)" for s in names) or "none"
    if others:
        raise DataError(ds.source, f"several candidate test splits ({', '.join(others)}); splits present: "
                                   f"{counts}. Choose one with --split (studies: split: NAME)")
    raise DataError(ds.source, f"has no PublicTest or PrivateTest rows (splits present: {counts}); these may be the "
                               "rows models were trained on, so none is scored by default. Choose explicitly with "
                               "--split NAME (studies: split: NAME) to evaluate them anyway")


class SplitIds(BaseModel):
    model_config = ConfigDict(extra="allow")
    kept: list[str]
    excluded: list[Any] = []


class CleanSplit(BaseModel):
    """A clean-split file (``ferbench data audit --write-clean-split``): per evaluation split, the ids kept."""

    model_config = ConfigDict(extra="allow")
    source_sha256: str
    splits: dict[str, SplitIds]
    path: str = ""

    def ids_for(self, ds: Dataset, splits: Sequence[str]) -> list[str]:
        """The kept ids of ``splits``; a DataError when the file was written for other data or does not
        cover one of them (never an empty list that would score a de-duplicated accuracy of 0 at n = 0)."""
        if self.source_sha256 != ds.source_hash:
            raise DataError(self.path, f"written for another file (sha256 {self.source_sha256[:12]}, the data is "
                                       f"{ds.source_hash[:12]})")
        wanted = [canonical_split(s) for s in splits]
        missing = [s for s in wanted if s not in self.splits]
        if missing:
            raise DataError(self.path, f"has no de-duplicated list for {', '.join(missing)} (it covers "
                                       f"{', '.join(self.splits) or 'no split'}); evaluate a covered split or "
                                       "leave out --exclude-leaked")
        return [i for s in wanted for i in self.splits[s].kept]


def read_clean_split(path: str | Path) -> CleanSplit:
    """Read and validate a clean-split file; a missing, malformed or wrongly shaped file is a DataError naming it."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise DataError(path, f"cannot read JSON: {exc}") from None
    try:
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        return CleanSplit.model_validate({**data, "path": str(path)})
    except (ValidationError, ValueError) as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in exc.errors()[:3]) \
            if isinstance(exc, ValidationError) else str(exc)
        raise DataError(path, "not a clean-split file (expected {\"source_sha256\": ..., \"splits\": {SPLIT: "
                              f"{{\"kept\": [ids], ...}}}}}} from `ferbench data audit --write-clean-split`): "
                              f"{detail}") from None
