"""The one in-memory dataset type that every reader returns and every stage consumes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np

from ..emotions import EMOTIONS

#: Canonical FER-2013 split names (``Usage`` column). Other sources may add their own.
SPLITS: tuple[str, ...] = ("Training", "PublicTest", "PrivateTest")
_SPLIT_ALIASES = {
    "training": "Training", "train": "Training",
    "publictest": "PublicTest", "public": "PublicTest", "val": "PublicTest", "valid": "PublicTest",
    "validation": "PublicTest",
    "privatetest": "PrivateTest", "private": "PrivateTest",
}


def canonical_split(name: str) -> str:
    """``train`` -> ``Training``, ``val`` -> ``PublicTest``... Unknown names (``test``) are kept as given:
    the image-folder ``test/`` of FER-2013 is PublicTest and PrivateTest together, so it is not renamed."""
    return _SPLIT_ALIASES.get(name.strip().lower().replace("_", "").replace("-", ""), name.strip())


@dataclass(frozen=True)
class Dataset:
    """Images with FER-order labels.

    ``images``: uint8, N×H×W (grayscale) or N×H×W×3 (RGB). ``labels``: int64 in FER order, -1 when
    unknown. ``splits``/``ids``: per-sample split name and stable id (CSV: 0-based data row number;
    folder: relative path). ``source_hash``: SHA-256 of the source file(s); ``options`` holds every
    reader setting that changes the result, so that :attr:`fingerprint` identifies the exact samples.
    """

    images: np.ndarray
    labels: np.ndarray
    splits: np.ndarray
    ids: np.ndarray
    source: str
    source_hash: str
    name: str = "dataset"
    soft_labels: np.ndarray | None = None
    options: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)  # skipped/excluded rows, by reason
    classes: tuple[str, ...] = EMOTIONS

    def __post_init__(self) -> None:
        n = len(self.images)
        if self.images.dtype != np.uint8 or self.images.ndim not in (3, 4):
            raise ValueError(f"images must be uint8 N×H×W or N×H×W×3, got {self.images.dtype} {self.images.shape}")
        for attr in ("labels", "splits", "ids"):
            if len(getattr(self, attr)) != n:
                raise ValueError(f"{attr} has {len(getattr(self, attr))} entries for {n} images")
        if self.soft_labels is not None and self.soft_labels.shape != (n, len(self.classes)):
            raise ValueError(f"soft_labels must be {n}×{len(self.classes)}, got {self.soft_labels.shape}")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_size(self) -> tuple[int, int]:
        return int(self.images.shape[1]), int(self.images.shape[2])

    @property
    def mode(self) -> str:
        return "L" if self.images.ndim == 3 else "RGB"

    @property
    def split_names(self) -> list[str]:
        """Split names present, canonical ones first in FER order."""
        present = set(self.splits.tolist())
        return [s for s in SPLITS if s in present] + sorted(present - set(SPLITS))

    @property
    def fingerprint(self) -> str:
        """Identifies exactly these samples read this way: source hash, reader options and ids."""
        h = hashlib.sha256(self.source_hash.encode())
        h.update(repr(sorted(self.options.items())).encode())
        h.update("\0".join(self.ids.tolist()).encode())
        return h.hexdigest()

    def subset(self, index: np.ndarray | Sequence[int], **changes: Any) -> "Dataset":
        index = np.asarray(index)
        soft = None if self.soft_labels is None else self.soft_labels[index]
        return replace(self, images=self.images[index], labels=self.labels[index], splits=self.splits[index],
                       ids=self.ids[index], soft_labels=soft, **changes)

    def select(self, splits: str | Sequence[str] | None = None, ids: Sequence[str] | None = None,
               limit: int | None = None) -> "Dataset":
        """Keep the given split(s) and/or ids, in dataset order; ``limit`` keeps the first N (for quick runs).
        An unknown split name is an error that lists the splits present, never an empty dataset."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1):
            raise ValueError(f"limit {limit!r}: must be a whole number of samples, at least 1")
        mask = np.ones(len(self), dtype=bool)
        if splits:
            wanted = [canonical_split(s) for s in ([splits] if isinstance(splits, str) else splits)]
            missing = [s for s in wanted if s not in set(self.splits.tolist())]
            if missing:
                raise ValueError(f"{self.source}: no split {', '.join(missing)}; splits present: "
                                 f"{', '.join(self.split_names) or 'none'}")
            mask &= np.isin(self.splits, wanted)
        if ids is not None:
            mask &= np.isin(self.ids, np.asarray(list(ids), dtype=self.ids.dtype))
        index = np.flatnonzero(mask)
        if limit is not None:
            index = index[:limit]
        return self if len(index) == len(self) else self.subset(index)

    def counts(self) -> dict[str, dict[str, int]]:
        """Counts per split × class (``unlabelled`` for label -1), classes in FER order."""
        out: dict[str, dict[str, int]] = {}
        for split in self.split_names:
            labels = self.labels[self.splits == split]
            row = {c: int(np.count_nonzero(labels == i)) for i, c in enumerate(self.classes)}
            if (labels < 0).any():
                row["unlabelled"] = int(np.count_nonzero(labels < 0))
            out[split] = row
        return out
