"""Model configuration saved beside every checkpoint: architecture, input, preprocessing, label order."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ..emotions import EMOTIONS


class Preprocess(BaseModel):
    """uint8 image -> float tensor: channels, resize, x/255, then (x - mean) / std per channel."""

    input_size: int = 48
    in_chans: Literal[1, 3] = 1
    mean: list[float] = Field(default_factory=lambda: [0.5])
    std: list[float] = Field(default_factory=lambda: [0.5])
    resize: Literal["bilinear", "bicubic", "area", "nearest", "cv2_bilinear"] = "bilinear"


class ModelConfig(BaseModel):
    arch: str
    num_classes: int = 7
    labels: list[str] = Field(default_factory=lambda: list(EMOTIONS))
    preprocess: Preprocess = Field(default_factory=Preprocess)
    arch_kwargs: dict[str, Any] = Field(default_factory=dict)
    provenance: dict[str, Any] = Field(default_factory=dict)  # data, recipe, source file, license...
