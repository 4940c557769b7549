"""Lightning checkpoints of a training run, read without running code and only from inside the run folder.

``torch.load(weights_only=True)`` refuses pickles that would build arbitrary objects (a planted or received
``.ckpt`` cannot execute code). Lightning records absolute paths (``best_model_path``); in a copied or moved
run folder they point at the original folder, so a stored path is re-rooted into this run's checkpoint
folder by its file name, and a path that still leads outside it is refused.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import torch


def inside(folder: str | Path, stored: str | Path) -> Path:
    """``stored`` as a file of ``folder``: kept when it already is one, else re-rooted by its name. Raises
    ValueError when the result is not an existing file inside ``folder`` (after resolving links and ``..``)."""
    folder = Path(folder).resolve()
    path = Path(stored)
    candidate = path if path.is_absolute() and path.resolve().parent == folder else folder / path.name
    resolved = candidate.resolve()
    if resolved.parent != folder:
        raise ValueError(f"{stored}: checkpoint path leads outside the run's checkpoint folder {folder}")
    if not resolved.is_file():
        raise FileNotFoundError(f"{candidate}: no such checkpoint in this run folder (stored path: {stored})")
    return resolved


def load_ckpt(path: str | Path) -> dict[str, Any]:
    """A Lightning checkpoint's dict, loaded with ``weights_only=True``; a file that is not a plain checkpoint
    (a pickle that would run code, a truncated or foreign file) is a ValueError naming it."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, AttributeError, ValueError) as exc:
        raise ValueError(f"{path}: refused: not a plain training checkpoint (loading it would need to run code "
                         f"from the file, or it is damaged): {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    """The line of torch's long message that says what was refused (``Unsupported global: GLOBAL eval...``)."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if "WeightsUnpickler error:" in line:
            return line.split("WeightsUnpickler error:", 1)[1].split(". Please use")[0].strip()
    return lines[0] if lines else type(exc).__name__
