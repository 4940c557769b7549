"""The tiny VLM test models (tests/helpers.py builds them) are offline and loadable."""

from __future__ import annotations

from helpers import tiny_dir


def test_tiny_models_are_offline_and_loadable():
    """Every tiny kind writes files that its own library reads back."""
    for kind in ("open_clip", "hf_clip", "siglip", "llava", "qwen2_vl"):
        path = tiny_dir(kind)
        assert any(path.glob("*.safetensors")), kind
