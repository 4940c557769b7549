"""Checkpoints: ``NAME.safetensors`` (weights) plus ``NAME.json`` (the :class:`ModelConfig`).

The config is also embedded in the safetensors metadata, so a lone .safetensors file still loads.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..utils.io import atomic_path, sha256_file, write_json
from .config import ModelConfig


def save_checkpoint(module: torch.nn.Module | dict, config: ModelConfig, path: str | Path) -> Path:
    path = Path(path).with_suffix(".safetensors")
    state = module.state_dict() if isinstance(module, torch.nn.Module) else module
    state = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={"ferbench_config": config.model_dump_json()})
    write_json(path.with_suffix(".json"), config.model_dump(mode="json"))
    return path


def load_checkpoint(path: str | Path) -> tuple[ModelConfig, dict[str, torch.Tensor], str]:
    """(config, state dict, sha256 of the weights file)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.safetensors"))
        if len(files) != 1:
            raise FileNotFoundError(f"{path}: expected one .safetensors checkpoint, found {len(files)}")
        path = files[0]
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    sidecar = path.with_suffix(".json")
    state, meta = read_safetensors(path)
    if sidecar.exists():
        config = ModelConfig.model_validate(json.loads(sidecar.read_text()))
    else:
        if "ferbench_config" not in meta:
            raise ValueError(f"{path}: no {sidecar.name} beside it and no ferbench config in its metadata")
        config = ModelConfig.model_validate_json(meta["ferbench_config"])
    return config, state, sha256_file(path)


def read_safetensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors, metadata) of a .safetensors file; any other file (a pickle, HDF5, a truncated download) is a
    ValueError naming it, never a bare SafetensorError."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
        return load_file(str(path)), meta
    except (SafetensorError, OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable .safetensors checkpoint ({exc}); ferbench checkpoints are "
                         "written by `ferbench train`; other formats need their model family (ferbench models "
                         "list)") from None


def load_weights(module: torch.nn.Module, state: dict[str, torch.Tensor], path: str | Path, arch: str) -> None:
    """``module.load_state_dict(state)`` with an error that names the file instead of a page of tensor names."""
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        raise ValueError(f"{path}: its weights do not fit the {arch!r} architecture: {detail[:300]}") from None
