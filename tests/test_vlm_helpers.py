"""Shared by the VLM tests: tiny random models built once per session (offline), synthetic FER data."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

# Tests never touch the network: transformers and huggingface_hub read these at import.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

_ROOT = Path(tempfile.mkdtemp(prefix="ferbench-tiny-vlm-"))
atexit.register(shutil.rmtree, _ROOT, True)


@functools.cache
def tiny_dir(kind: str, **kw) -> Path:
    """A tiny model directory of ``kind`` (open_clip, hf_clip, siglip, llava, llava_nochat, qwen2_vl), built once."""
    from ferbench.models.vlm import tiny

    path = _ROOT / kind
    if kind == "llava_nochat":
        return tiny.tiny_llava(path, chat_template=False)
    return tiny.build_tiny(kind, path)


def faces(n: int = 6, seed: int = 0, rgb: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 48, 48, 3) if rgb else (n, 48, 48), dtype=np.uint8)


def test_tiny_models_are_offline_and_loadable():
    """Every tiny kind writes files that its own library reads back."""
    for kind in ("open_clip", "hf_clip", "siglip", "llava", "qwen2_vl"):
        path = tiny_dir(kind)
        assert any(path.glob("*.safetensors")), kind
