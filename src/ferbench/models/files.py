"""Which files decide a model's outputs, so study cells can hash them before anything is loaded.

A checkpoint is its ``.safetensors`` and, when present, the ``.json`` beside it (its config, read in preference
to the one inside the file: preprocessing lives there). An ensemble file is itself plus every file its members
load. A packaged model is the files its registry entry names (``packaged_files``).
"""

from __future__ import annotations

from pathlib import Path

from ..utils.io import path_digest, read_json, sha256_json
from .registry import get_model_entry


def checkpoint_files(path: str | Path) -> list[Path]:
    path = Path(path)
    sidecar = path.with_suffix(".json")
    return [path, sidecar] if path.suffix == ".safetensors" and sidecar.is_file() else [path]


def ensemble_files(path: str | Path) -> list[Path]:
    """The ensemble file and each member's files (its weights, relative to the file, or its packaged ones)."""
    path = Path(path)
    files = [path]
    try:
        members = read_json(path).get("members") or []
    except (OSError, ValueError):
        return files  # unreadable: the loader says why; its own bytes still identify it
    for m in members:
        weights = m.get("weights")
        if weights is not None:
            files += checkpoint_files(weights if Path(weights).is_absolute() else path.parent / weights)
        else:
            files += packaged_files(m.get("model", "")) or []
    return files


def packaged_files(name: str) -> list[Path] | None:
    """The shipped files a registered model loads without ``weights``; None when its entry names none."""
    try:
        files = get_model_entry(name).meta.get("packaged_files")
    except KeyError:  # an unknown name: its loader refuses it with a "did you mean"
        return None
    return list(files() if callable(files) else files) if files is not None else None


def model_files(name: str, weights: str | Path | None) -> list[Path] | None:
    """The files model ``name`` reads when loaded with ``weights`` (None: its packaged files)."""
    if weights is None:
        return packaged_files(name)
    if get_model_entry(name).meta.get("family") == "ensemble":
        return ensemble_files(weights)
    return checkpoint_files(weights)


def files_digest(files: list[Path]) -> str | None:
    """One file: its SHA-256 (as path_digest); several: a hash of their names and contents."""
    if len(files) == 1:
        return path_digest(files[0])
    return sha256_json([[f.name, path_digest(f)] for f in files])
