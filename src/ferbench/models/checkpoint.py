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
    if sidecar.exists():
        config = ModelConfig.model_validate(json.loads(sidecar.read_text()))
    else:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
        if "ferbench_config" not in meta:
            raise ValueError(f"{path}: no {sidecar.name} beside it and no ferbench config in its metadata")
        config = ModelConfig.model_validate_json(meta["ferbench_config"])
    return config, load_file(str(path)), sha256_file(path)
