"""The degradation registry, and the one seeded, deterministic way to apply a degradation.

A degradation is a function ``fn(image, level, rng) -> image`` on one uint8 image (H×W or H×W×3), added in
one file with its severity table (ImageNet-C style: five levels, 1 mildest, 5 strongest):

    @register_degradation("gaussian_blur", levels=(0.5, 0.75, 1.0, 1.5, 2.0), unit="sigma, px at 48 px")
    def gaussian_blur(image, sigma, rng): ...

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

DEGRADATIONS: Registry[Callable[..., np.ndarray]] = Registry("degradation", builtin_modules=(
    "ferbench.degrade.blur",
    "ferbench.degrade.noise",
    "ferbench.degrade.jpeg",
    "ferbench.degrade.downscale",
    "ferbench.degrade.photometric",
    "ferbench.degrade.occlusion",
))


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


def degrade_images(images: np.ndarray, name: str, severity: int, seed: int = 0) -> np.ndarray:
    """Apply degradation ``name`` at ``severity`` (0-5) to a uint8 batch (N×H×W or N×H×W×3)."""
    entry = DEGRADATIONS.get(name)
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ValueError(f"degradations take uint8 N×H×W or N×H×W×3 images, got {images.dtype} {images.shape}")
    if severity not in (0, *SEVERITIES):
        raise ValueError(f"severity must be 0 (none) or one of {SEVERITIES}, not {severity!r}")
    if severity == 0:
        return images.copy()
    level = entry.meta["levels"][severity - 1]
    out = np.empty_like(images)
    for i, im in enumerate(images):
        res = entry.fn(np.ascontiguousarray(im), level, image_rng(im, name, severity, seed))
        if res.shape != im.shape or res.dtype != np.uint8:
            raise RuntimeError(f"degradation {name!r} returned {res.dtype} {res.shape} for {im.dtype} {im.shape}")
        out[i] = res
    return out


def severity_table() -> dict[str, dict[str, Any]]:
    """Every degradation's levels by severity, for docs and ``--help``."""
    return {e.name: {"unit": e.meta["unit"], "levels": dict(zip(SEVERITIES, e.meta["levels"])),
                     "description": e.description} for e in DEGRADATIONS.entries()}
