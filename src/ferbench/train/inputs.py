"""Per-row training targets and the files a run reads besides its data, wired for :func:`ferbench.train.fit.train`.

Kept apart from ``fit.py`` so that the training loop only asks: which dataset object, which extra hashes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..data.dataset import Dataset
from ..emotions import NUM_CLASSES
from ..utils.io import sha256_file
from .config import TrainConfig


def input_file_hashes(cfg: TrainConfig) -> dict[str, str]:
    """SHA-256 of every file the config names besides the data (pretrained weights, FER+ votes, teacher); a
    ``pretrained: auto`` is resolved to the installed package's file first."""
    files = cfg.input_files()
    if files.get("pretrained") == "auto":
        from ..models.efficientnet_lite import resolve_pretrained

        files["pretrained"] = str(resolve_pretrained(cfg.model, "auto"))
    return {f"{k}_sha256": sha256_file(v) for k, v in files.items()}


def uses_extras(cfg: TrainConfig) -> bool:
    t = cfg.targets
    return bool(t.ferplus_votes or t.teacher or cfg.degrade.p > 0)


def training_faces(cfg: TrainConfig, train_ds: Dataset, full: Dataset, soft: bool) -> tuple[Any, dict[str, Any]]:
    """The torch dataset of training faces with the configured soft targets and degradations, and what it used
    (for ``train.json``)."""
    from .degrade_aug import TrainFaceDataset, trained_kinds
    from .losses import mix_targets
    from .targets import ferplus_vote_targets, read_teacher_probs

    info: dict[str, Any] = {}
    targets = teacher = None
    t = cfg.targets
    if t.ferplus_votes:
        dist, has = ferplus_vote_targets(train_ds, t.ferplus_votes)
        base = (torch.from_numpy(train_ds.soft_labels) if soft and train_ds.soft_labels is not None
                else torch.nn.functional.one_hot(torch.from_numpy(train_ds.labels), NUM_CLASSES).float())
        targets = mix_targets(base, torch.from_numpy(dist), torch.from_numpy(has), t.ferplus_weight).numpy()
        info["ferplus_votes"] = {"rows_with_votes": int(has.sum()), "rows": len(train_ds), "weight": t.ferplus_weight}
    if t.teacher:
        teacher = read_teacher_probs(t.teacher, train_ds, full)
        info["teacher"] = {"rows": len(teacher), "weight": t.distill_weight, "temperature": t.temperature,
                           "teacher_train_accuracy": float(np.mean(teacher.argmax(1) == train_ds.labels))}
    if cfg.degrade.p > 0:
        kinds = trained_kinds(cfg.degrade)
        from ..degrade import list_degradations

        info["degrade"] = {"trained_kinds": kinds, "held_out_kinds": [k for k in list_degradations() if k not in kinds]}
    dataset = TrainFaceDataset(train_ds, cfg.augment, cfg.seed, soft, degrade=cfg.degrade, targets=targets,
                               teacher=teacher)
    return dataset, info
