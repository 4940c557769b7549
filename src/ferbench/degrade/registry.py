"""The degradation registry, and the one seeded, deterministic way to apply a degradation.

A degradation is a function ``fn(image, level, rng) -> image`` on one uint8 image (H×W or H×W×3), added in
one file with its severity table (ImageNet-C style: five levels, 1 mildest, 5 strongest):

    @register_degradation("gaussian_blur", levels=(0.5, 0.75, 1.0, 1.5, 2.0), unit="sigma, px at 48 px")
    def gaussian_blur(image, sigma, rng): ...

A degradation registered with ``resizes=True`` returns a smaller image; :func:`degrade_images` enlarges it
back to the input size (bicubic) unless ``keep_size`` is False.

Determinism: each image gets its own random generator, seeded from (seed, degradation name, severity, the
image's bytes). The same seed + severity + image gives the same bytes whatever the batch, order, shard or
process; severity 0 returns the image unchanged.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable

import numpy as np

from ..registry import Entry, Registry

SEVERITIES = (1, 2, 3, 4, 5)

DEGRADATIONS: Registry[Callable[..., np.ndarray]] = Registry("degradation", package="ferbench.degrade")


def register_degradation(name: str, levels: tuple[float, ...], unit: str, **meta: Any) -> Callable:
    if len(levels) != len(SEVERITIES):
        raise ValueError(f"degradation {name!r}: needs {len(SEVERITIES)} levels, got {len(levels)}")
    return DEGRADATIONS.register(name, levels=tuple(levels), unit=unit, **meta)


def list_degradations() -> list[str]:
    return DEGRADATIONS.names()


def get_degradation_entry(name: str) -> Entry:
    return DEGRADATIONS.get(name)


def image_rng(image: np.ndarray, name: str, severity: int, seed: int) -> np.random.Generator:
    digest = hashlib.sha256(name.encode() + b"\0" + repr(image.shape).encode() + b"\0" + image.tobytes()).digest()
    words = np.frombuffer(digest[:16], dtype=np.uint32).tolist()
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(severity), *words]))


def degrade_images(images: np.ndarray, name: str, severity: int, seed: int = 0, keep_size: bool = True) -> np.ndarray:
    """Apply degradation ``name`` at ``severity`` (0-5) to a uint8 batch (N×H×W or N×H×W×3). A resizing
    degradation returns its small images when ``keep_size`` is False."""
    DEGRADATIONS.get(name)  # an unknown name fails here, even for an empty batch
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ValueError(f"degradations take uint8 N×H×W or N×H×W×3 images, got {images.dtype} {images.shape}")
    if severity not in (0, *SEVERITIES):
        raise ValueError(f"severity must be 0 (none) or one of {SEVERITIES}, not {severity!r}")
    if severity == 0:
        return images.copy()
    out: np.ndarray | None = None
    for i, im in enumerate(images):
        res = degrade_one(im, name, severity, image_rng(im, name, severity, seed), keep_size)
        if out is None:
            out = np.empty((len(images), *res.shape), np.uint8)
        out[i] = res
    return images.copy() if out is None else out


def degrade_one(image: np.ndarray, name: str, severity: int, rng: np.random.Generator,
                keep_size: bool = True) -> np.ndarray:
    """One uint8 image (H×W or H×W×3) degraded at ``severity`` (1-5) with the given generator; a resizing
    degradation is enlarged back to the input size (bicubic) unless ``keep_size`` is False."""
    entry = DEGRADATIONS.get(name)
    res = entry.fn(np.ascontiguousarray(image), entry.meta["levels"][severity - 1], rng)
    resizes = bool(entry.meta.get("resizes"))
    if resizes and keep_size:
        import cv2

        res = cv2.resize(res, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_CUBIC)
    if res.dtype != np.uint8 or res.shape[2:] != image.shape[2:] or (res.shape[:2] != image.shape[:2] and not resizes):
        raise RuntimeError(f"degradation {name!r} returned {res.dtype} {res.shape} for {image.dtype} {image.shape}")
    return res


def severity_table() -> dict[str, dict[str, Any]]:
    """Every degradation's levels by severity, for docs and ``--help``."""
    return {e.name: {"unit": e.meta["unit"], "levels": dict(zip(SEVERITIES, e.meta["levels"])),
                     "description": e.description} for e in DEGRADATIONS.entries()}
