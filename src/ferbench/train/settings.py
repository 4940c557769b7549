"""A training configuration from a recipe and ``key=value`` settings: every :class:`TrainConfig` field is a
setting (``lr``, ``augment.mixup``, ``targets.teacher``...), so ``ferbench train`` needs no option per field.
A bare name that is a field of exactly one nested section (``mixup``) reaches that section."""

from __future__ import annotations

import typing
from typing import Any

import yaml
from pydantic import BaseModel

from .config import TrainConfig


def _sections(model: type[BaseModel] = TrainConfig) -> dict[str, type[BaseModel]]:
    return {name: f.annotation for name, f in model.model_fields.items()
            if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel)}


def setting_names() -> list[str]:
    """Every setting, nested ones dotted (``augment.mixup``)."""
    sections = _sections()
    names = [n for n in TrainConfig.model_fields if n not in sections]
    return names + [f"{s}.{n}" for s, model in sections.items() for n in model.model_fields]


def resolve(key: str) -> tuple[str, ...]:
    """The field path of ``key`` (``-`` read as ``_``), or a ValueError naming the known settings."""
    key = key.strip().replace("-", "_")
    names = setting_names()
    if key in names:
        return tuple(key.split("."))
    owners = [n for n in names if n.endswith(f".{key}")]
    if len(owners) == 1:
        return tuple(owners[0].split("."))
    why = f"ambiguous (one of {', '.join(owners)})" if owners else "unknown"
    raise ValueError(f"training setting {key!r} is {why}; settings: {', '.join(names)}")


def _annotation(path: tuple[str, ...]) -> Any:
    model: type[BaseModel] = TrainConfig
    for part in path[:-1]:
        model = _sections(model)[part]
    return model.model_fields[path[-1]].annotation


def parse_value(path: tuple[str, ...], raw: str) -> Any:
    """A setting's text as YAML (``3``, ``1e-3``, ``true``, ``[1, 2]``); text settings (paths, ``devices``)
    stay text, except ``null`` which unsets an optional one."""
    ann = _annotation(path)
    if ann is str or str in typing.get_args(ann):
        return None if raw.strip().lower() in ("null", "none", "~") and type(None) in typing.get_args(ann) else raw
    return yaml.safe_load(raw)


def apply_settings(recipe: dict[str, Any], settings: dict[str, str]) -> dict[str, Any]:
    """``recipe`` (a parsed YAML/JSON TrainConfig) with ``settings`` (key -> text) applied; later keys win."""
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in recipe.items()}
    for key, raw in settings.items():
        path = resolve(key)
        target = merged
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = parse_value(path, raw)
    return merged


def train_config(data: str, recipe: dict[str, Any] | None = None, settings: dict[str, str] | None = None) -> TrainConfig:
    """The validated configuration of a training run on ``data`` (pydantic's ValidationError when invalid)."""
    return TrainConfig.model_validate({**apply_settings(recipe or {}, settings or {}), "data": data})
