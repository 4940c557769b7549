"""Degradation-aware training faces: the registered degradations at random severities, alone or two in sequence.

Every draw comes from a generator seeded by (seed, epoch, sample index), like the rest of the augmentation, so a
run is reproducible and resumable. The training dataset refuses rows of evaluation splits, so no validation or
test face is ever degraded for training (nor shown to it).
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.dataset import Dataset
from ..data.splits import is_eval_split
from ..degrade.registry import degrade_one, list_degradations
from .config import Augment, DegradeAugment
from .data import FaceDataset, _seed


def trained_kinds(cfg: DegradeAugment) -> list[str]:
    """The kinds to train on (all registered when none are named); an unknown name is an error listing the known."""
    known = list_degradations()
    unknown = [k for k in cfg.kinds if k not in known]
    if unknown:
        raise ValueError(f"degrade.kinds: unknown degradation(s) {unknown}; known: {', '.join(known)}")
    return list(cfg.kinds) or known


def draw_degradation(cfg: DegradeAugment, kinds: list[str], rng: np.random.Generator) -> list[tuple[str, int]]:
    """[(kind, severity), ...]: empty (clean) with probability 1 - p, else one kind or two distinct ones."""
    if rng.random() >= cfg.p:
        return []
    n = 2 if len(kinds) > 1 and rng.random() < cfg.p_pair else 1
    chosen = rng.choice(len(kinds), size=n, replace=False)
    return [(kinds[int(k)], int(rng.choice(cfg.severities))) for k in chosen]


def apply_degradations(image: np.ndarray, steps: list[tuple[str, int]], rng: np.random.Generator) -> np.ndarray:
    """Apply ``steps`` in order to one uint8 H×W (or H×W×3) face, drawing from ``rng``; a resolution-lowering kind
    is enlarged back to the face's size (:func:`degrade_one`)."""
    for kind, severity in steps:
        image = degrade_one(image, kind, severity, rng)
    return image


class TrainFaceDataset(FaceDataset):
    """Training faces with optional degradation (replacing the face, or as a second view for the consistency loss)
    and per-row soft targets (a teacher's probabilities). Items: ``(face, target[, teacher][, degraded view])``."""

    def __init__(self, ds: Dataset, augment: Augment | None, seed: int, soft: bool = False,
                 degrade: DegradeAugment | None = None, targets: np.ndarray | None = None,
                 teacher: np.ndarray | None = None):
        bad = sorted({s for s in ds.splits.tolist() if is_eval_split(s)})
        if bad:
            raise ValueError(f"training faces include rows of {', '.join(bad)}: refusing to train on evaluation rows")
        super().__init__(ds, augment, seed, soft)
        if targets is not None:
            self.targets = torch.as_tensor(targets, dtype=torch.float32)
        self.teacher = None if teacher is None else torch.as_tensor(teacher, dtype=torch.float32)
        self.degrade = degrade if degrade is not None and degrade.p > 0 else None
        self.kinds = trained_kinds(degrade) if self.degrade else []

    def _degraded(self, face: torch.Tensor, epoch: int, index: int) -> torch.Tensor:
        rng = np.random.default_rng(_seed(self.seed, 3, epoch, index))
        steps = draw_degradation(self.degrade, self.kinds, rng)
        if not steps:
            return face
        image = face.numpy()
        image = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
        out = torch.from_numpy(np.ascontiguousarray(apply_degradations(image, steps, rng)))
        return out[None] if out.ndim == 2 else out.permute(2, 0, 1)

    def __getitem__(self, item: int):
        face, target = super().__getitem__(item)
        epoch, index = divmod(int(item), len(self.images))
        out = [face, target]
        if self.teacher is not None:
            out.append(self.teacher[index])
        if self.degrade is not None:
            degraded = self._degraded(face, epoch, index)
            if self.degrade.consistency > 0:
                out.append(degraded)
            else:
                out[0] = degraded
        return tuple(out)
