"""The one restorer interface, and the image helpers every restorer shares.

A restorer takes a batch of uint8 faces (N×H×W gray or N×H×W×3 RGB) and returns uint8 faces at a requested
size. Subclasses implement ``_restore`` at their native size (×4 for a super-resolver, 512×512 for GFPGAN);
the base class batches, converts channels and does the final resize, so every method ends the same way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

Size = int | tuple[int, int] | None


class RestorerUnavailable(RuntimeError):
    """The restorer cannot run on this machine (a missing library or device); the message says what to install."""


class RestorerParams(BaseModel):
    """Parameters of a restorer. Every field is part of the cache key (see ``Restorer.describe``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())


class Restorer(ABC):
    name: str = "restorer"
    output: str = "input"  # "input": as many channels as came in; "rgb": always 3 (set by @register_restorer)
    Params: type[RestorerParams] = RestorerParams
    batch_size: int = 64
    #: Bump when a code change alters the output: it is part of the cache key.
    impl_version: int = 1

    def __init__(self, **params: Any):
        try:
            self.params = self.Params(**params)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'params'}: {e['msg']}" for e in exc.errors())
            known = ", ".join(self.Params.model_fields) or "none"
            raise ValueError(f"restorer {self.name!r}: {problems} (parameters: {known})") from None
        self.weights_sha256: str | None = None
        self.setup()

    def setup(self) -> None:
        """Load models/weights (called once per process)."""

    @abstractmethod
    def _restore(self, images: np.ndarray) -> np.ndarray:
        """uint8 batch -> uint8 batch at the method's native size."""

    def restore(self, images: np.ndarray, size: Size = None, channels: int | None = None,
                progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Restore ``images``; ``size`` = output side or (H, W) (default: the input size); ``channels`` = 1 or 3
        (default: the method's own, see ``output``)."""
        images = check_batch(images)
        target = _target_size(images, size)
        out = []
        for lo in range(0, len(images), self.batch_size):
            batch = self._restore(images[lo:lo + self.batch_size])
            out.append(set_channels(self._final_resize(batch, target), channels))
            if progress:
                progress(len(batch))
        if not out:  # an empty batch keeps the shape the method would give
            chans = channels or (3 if self.output == "rgb" or images.ndim == 4 else 1)
            return np.zeros((0, *target) + ((3,) if chans == 3 else ()), np.uint8)
        return np.concatenate(out)

    __call__ = restore

    def _final_resize(self, images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        return resize_batch(images, size)

    def describe(self) -> dict[str, Any]:
        """Everything that identifies this restorer's output, for cache keys and run records."""
        return {"name": self.name, "output": self.output, "params": self.key_params(),
                "weights_sha256": self.weights_sha256, "impl_version": self.impl_version,
                "libraries": self.libraries()}

    def key_params(self) -> dict[str, Any]:
        """Parameters as they enter the cache key (subclasses drop paths, whose file hash is recorded instead)."""
        return self.params.model_dump(mode="json")

    def worker_params(self) -> dict[str, Any]:
        """Parameters that rebuild exactly this restorer in another process."""
        return self.params.model_dump(mode="json")

    def libraries(self) -> dict[str, str]:
        """Versions of the libraries whose numerics shape the output (part of the cache key)."""
        return {}


def check_batch(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"restorers take uint8 images, got {images.dtype}")
    if images.ndim == 2:
        images = images[None]
    if not (images.ndim == 3 or (images.ndim == 4 and images.shape[-1] == 3)):
        raise ValueError(f"restorers take N×H×W or N×H×W×3 images, got shape {images.shape}")
    return images


def _target_size(images: np.ndarray, size: Size) -> tuple[int, int]:
    if size is None:
        return int(images.shape[1]), int(images.shape[2])
    if isinstance(size, int):
        return size, size
    return int(size[0]), int(size[1])


def to_rgb(images: np.ndarray) -> np.ndarray:
    """N×H×W -> N×H×W×3 by replicating the gray channel (RGB input is returned as is)."""
    return images if images.ndim == 4 else np.repeat(images[..., None], 3, axis=-1)


def to_gray(images: np.ndarray) -> np.ndarray:
    """N×H×W×3 RGB -> N×H×W with ITU-R 601 luma (as PIL's "L" and cv2's RGB2GRAY); gray input unchanged."""
    if images.ndim == 3:
        return images
    import cv2

    n, h, w, _ = images.shape
    flat = np.ascontiguousarray(images).reshape(n * h, w, 3)
    return cv2.cvtColor(flat, cv2.COLOR_RGB2GRAY).reshape(n, h, w)


def set_channels(images: np.ndarray, channels: int | None) -> np.ndarray:
    if channels is None:
        return images
    if channels == 1:
        return to_gray(images)
    if channels == 3:
        return to_rgb(images)
    raise ValueError(f"channels must be 1 or 3, not {channels}")


def resize_batch(images: np.ndarray, size: tuple[int, int], interpolation: int | None = None) -> np.ndarray:
    """Resize every image to ``size`` (H, W). Default kernel: area when shrinking (no aliasing), bicubic when
    enlarging; bicubic overshoot is clipped by cv2's saturating uint8 arithmetic."""
    import cv2

    h, w = size
    if images.shape[1:3] == (h, w):
        return images
    if interpolation is None:
        interpolation = cv2.INTER_AREA if images.shape[1] >= h and images.shape[2] >= w else cv2.INTER_CUBIC
    out = np.stack([cv2.resize(im, (w, h), interpolation=interpolation) for im in images])
    return out
