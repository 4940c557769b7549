"""Every training setting in one validated config; its hash names the run and guards ``--resume``."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, Field


class Augment(BaseModel):
    """Per-sample augmentation on the uint8 face (before resizing and normalisation)."""

    hflip: bool = True
    crop_padding: int = 4          # random crop of the original size after reflect-padding by this many px
    rotation: float = 10.0         # degrees, ±
    translate: float = 0.0         # fraction of the side, ±
    scale: float = 0.1             # zoom in [1 - s, 1 + s]
    erasing: float = 0.25          # probability of one random-erasing box (filled with mid-gray)
    mixup: float = 0.0             # Beta(α, α) for mixup; 0 = off
    cutmix: float = 0.0            # Beta(α, α) for cutmix; 0 = off (if both, each batch picks one)


class TrainConfig(BaseModel):
    model: str = "resnet50"
    data: str
    train_split: str = "Training"
    val_split: str = "PublicTest"       # model selection and early stopping; never the test split
    ferplus: Optional[str] = None       # fer2013new.csv: train on FER+ labels
    restore: Optional[dict] = None      # restorer applied to the training faces (set by the study runner)
    label_mode: Literal["majority", "plurality", "soft"] = "majority"
    input_size: int = 48
    in_chans: Literal[1, 3] = 1
    pretrained: Optional[str] = None    # local ImageNet weights file
    arch_kwargs: dict = Field(default_factory=dict)
    mean: list[float] = Field(default_factory=lambda: [0.5])
    std: list[float] = Field(default_factory=lambda: [0.5])

    epochs: int = 30
    batch_size: int = 64
    optimizer: Literal["adamw", "sgd"] = "adamw"
    lr: float = 1e-3
    weight_decay: float = 0.05
    momentum: float = 0.9
    scheduler: Literal["cosine", "onecycle", "none"] = "cosine"
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.1
    balance: Literal["none", "weighted_loss", "sampler"] = "none"
    augment: Augment = Field(default_factory=Augment)
    ema_decay: Optional[float] = None   # exponential moving average of the weights (EMA); None = off
    early_stopping: Optional[int] = 10  # patience in epochs on val accuracy; None = off
    max_minutes: Optional[float] = None  # stop after this much training time (a CPU budget)

    seed: int = 0
    precision: str = "auto"             # auto: 16-mixed on CUDA, 32-true on CPU
    accelerator: str = "auto"
    devices: str = "auto"
    num_nodes: int = 1
    strategy: str = "auto"
    num_workers: int = 0
    threads: Optional[int] = None
    limit_train: Optional[int] = None   # first N training samples (quick runs, tests)
    limit_val: Optional[int] = None

    def result_affecting(self) -> dict:
        """The settings that change the trained weights (not where they are written or how fast)."""
        return self.model_dump(mode="json", exclude={"num_workers", "threads"})
