"""uint8 faces -> what VLM libraries and servers take: RGB PIL images, PNG bytes, data URLs."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image


def to_pil(images: np.ndarray) -> list[Image.Image]:
    """N×H×W (gray) or N×H×W×3 uint8 -> RGB images (VLM processors expect 3 channels)."""
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ValueError(f"expected uint8 N×H×W or N×H×W×3 images, got {images.dtype} {images.shape}")
    return [Image.fromarray(im).convert("RGB") for im in images]


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")  # PIL writes no timestamp: equal pixels give equal bytes (cache keys rely on it)
    return buf.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
