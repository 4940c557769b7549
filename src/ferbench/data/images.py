"""The one image decoder of ferbench: image folders (and so restoration), ``predict`` and anything else that
reads a picture file use :func:`decode_image`, so that every stage sees the same pixels.

Rules: the EXIF orientation is applied (phone photos stand upright); transparency is composited on white;
16-bit and 32-bit integer images are scaled from 0..65535 to 0..255 (``I;16`` is not clipped to white);
float images in 0..1 are scaled to 0..255; images without colour come back as H×W grayscale, others as
H×W×3 RGB. Files with more than ``max_pixels`` pixels are refused before decoding (decompression bombs).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

#: In the options (so the fingerprint) of datasets read from image files: bump when decoded pixels change.
DECODER_VERSION = 2  # 2: EXIF orientation, 16-bit scaling, alpha on white
#: Refuse images with more pixels than this before decoding them (decompression-bomb guard).
DEFAULT_MAX_PIXELS = 40_000_000
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
_GRAY_MODES = {"1", "L", "LA", "I", "F"}


class ImageTooLarge(ValueError):
    """An image with more pixels than allowed, refused from its header before a pixel is decoded."""


def decode_image(path: str | Path | BinaryIO, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """uint8 H×W (no colour) or H×W×3 (colour) pixels of the image file (or open binary stream) at ``path``,
    as a viewer shows it.

    Raises :class:`ImageTooLarge` for more than ``max_pixels`` pixels (checked from the header, before
    decoding), and PIL's errors (``UnidentifiedImageError``, ``OSError``...) for data that is not a readable
    image; callers name the file. Pillow's global ``MAX_IMAGE_PIXELS`` is left alone (the server decodes in
    several threads at once)."""
    try:
        with Image.open(path) as img:
            width, height = img.size
            if width * height > max_pixels:
                raise ImageTooLarge(f"{width}×{height} = {width * height:,} pixels, more than the {max_pixels:,} "
                                    "allowed")
            with warnings.catch_warnings():  # size checked above: Pillow's own, looser warning adds nothing
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                img.load()
            return to_array(ImageOps.exif_transpose(img))
    except Image.DecompressionBombError as exc:  # Pillow refuses the header itself (far over its own limit)
        raise ImageTooLarge(str(exc)) from None


def to_array(img: Image.Image) -> np.ndarray:
    """A decoded PIL image -> uint8 H×W or H×W×3 by the rules above (orientation already applied)."""
    if img.mode.startswith("I") or img.mode == "F":
        return _deep_to_uint8(img)
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (img.mode == "P" and "transparency" in img.info):
        gray = img.mode in ("LA", "La") or (img.mode in ("P", "PA") and not _has_colour(img.convert("RGB")))
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
        return np.asarray(img.convert("L")) if gray else np.asarray(img)
    if img.mode in _GRAY_MODES:
        return np.asarray(img.convert("L"))
    rgb = img.convert("RGB")
    return np.asarray(rgb.convert("L")) if img.mode == "P" and not _has_colour(rgb) else np.asarray(rgb)


def _deep_to_uint8(img: Image.Image) -> np.ndarray:
    """16/32-bit integer images hold 0..65535 (PNG, TIFF): divide by 257; float images 0..1: times 255."""
    arr = np.asarray(img, dtype=np.float64)
    if img.mode == "F":
        arr = arr * 255.0 if np.nanmax(arr, initial=0.0) <= 1.0 else arr
    else:
        arr = arr / 257.0
    return np.clip(np.rint(np.nan_to_num(arr)), 0, 255).astype(np.uint8)


def _has_colour(rgb: Image.Image) -> bool:
    a = np.asarray(rgb)
    return not (np.array_equal(a[..., 0], a[..., 1]) and np.array_equal(a[..., 1], a[..., 2]))


def gray_and_rgb(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(H×W gray, H×W×3 RGB) views of decoded pixels, for stages that need both (``predict``)."""
    if pixels.ndim == 2:
        return pixels, np.repeat(pixels[..., None], 3, axis=2)
    return np.asarray(Image.fromarray(pixels).convert("L")), pixels
