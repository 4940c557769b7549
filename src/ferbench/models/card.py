"""Measured figures of the packaged models, read from the model card's front matter.

``models/weights/MODEL_CARD.md`` starts with a YAML block (``results: {model: {accuracy, accuracy_ci95, ...}}``)
so programs (``ferbench serve``'s ``GET /models``) show the very numbers people read in the card, never a copy.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

CARD = Path(__file__).parent / "weights" / "MODEL_CARD.md"


@functools.lru_cache(maxsize=1)
def card_results(path: Path = CARD) -> dict[str, dict[str, Any]]:
    """``{model name: {split, n, accuracy, accuracy_ci95, f1_macro, command}}``; empty when the card has none."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if not text.startswith("---\n"):
        return {}
    end = text.find("\n---\n", 4)
    if end < 0:
        raise ValueError(f"{path}: front matter opened with '---' is never closed")
    meta = yaml.safe_load(text[4:end]) or {}
    return dict(meta.get("results") or {})


def card_result(name: str) -> dict[str, Any] | None:
    """The card's figures for the packaged model ``name`` (with its packaged weights), or None."""
    return card_results().get(name)
