"""Torch datasets over a ferbench :class:`Dataset`, with seeded per-sample augmentation.

Every random draw is a function of (seed, epoch, sample index), never of a global RNG's history, so a
run resumed from a checkpoint sees exactly the batches and augmentations of an uninterrupted run.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset
from torch.utils.data import Sampler
from torchvision.transforms import v2

from ..data.dataset import Dataset
from .config import Augment


def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence([p & 0xFFFFFFFF for p in parts]).generate_state(1)[0])


class EpochSampler(Sampler[int]):
    """Shuffles (or weights) indices with a generator seeded by (seed, epoch); Lightning calls
    ``set_epoch``. Yields ``epoch * n + index`` so that the dataset knows the epoch, even in workers."""

    def __init__(self, n: int, seed: int, shuffle: bool = True, weights: np.ndarray | None = None):
        self.n, self.seed, self.shuffle, self.weights, self.epoch = n, seed, shuffle, weights, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(_seed(self.seed, self.epoch))
        if self.weights is not None:
            order = torch.multinomial(torch.as_tensor(self.weights, dtype=torch.double), self.n, True, generator=g)
        elif self.shuffle:
            order = torch.randperm(self.n, generator=g)
        else:
            order = torch.arange(self.n)
        return iter((order + self.epoch * self.n).tolist())


def build_augment(aug: Augment, size: int) -> v2.Compose:
    ops: list = []
    if aug.crop_padding:
        ops.append(v2.RandomCrop(size, padding=aug.crop_padding, padding_mode="reflect"))
    if aug.hflip:
        ops.append(v2.RandomHorizontalFlip())
    if aug.rotation or aug.translate or aug.scale:
        ops.append(v2.RandomAffine(degrees=aug.rotation, translate=(aug.translate, aug.translate) if aug.translate
                                   else None, scale=(1 - aug.scale, 1 + aug.scale) if aug.scale else None))
    if aug.erasing:
        ops.append(v2.RandomErasing(p=aug.erasing, value=128))
    return v2.Compose(ops)


class FaceDataset(TorchDataset):
    """(uint8 C×H×W tensor, target) pairs; target is an int, or a 7-vector when soft labels are given."""

    def __init__(self, ds: Dataset, augment: Augment | None = None, seed: int = 0, soft: bool = False):
        self.images = ds.images
        self.targets = (torch.from_numpy(ds.soft_labels.astype(np.float32)) if soft and ds.soft_labels is not None
                        else torch.from_numpy(ds.labels.astype(np.int64)))
        self.transform = build_augment(augment, ds.image_size[0]) if augment else None
        self.seed = seed

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, item: int):
        epoch, index = divmod(int(item), len(self.images))
        img = torch.from_numpy(np.ascontiguousarray(self.images[index]))
        img = img[None] if img.ndim == 2 else img.permute(2, 0, 1)
        if self.transform is not None:
            with torch.random.fork_rng(devices=[]):
                # CPU generator only: torch.manual_seed would also (slowly) queue seeds for CUDA/XPU/MTIA.
                torch.default_generator.manual_seed(_seed(self.seed, epoch, index))
                img = self.transform(img)
        return img, self.targets[index]


def class_weights(labels: np.ndarray, k: int) -> np.ndarray:
    """Inverse-frequency weights, normalised to mean 1 over the classes present."""
    counts = np.bincount(labels[labels >= 0], minlength=k).astype(np.float64)
    w = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / k, 0.0)
    return w / w[counts > 0].mean()
