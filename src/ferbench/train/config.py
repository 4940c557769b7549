"""Every training setting in one validated config; its hash names the run and guards ``--resume``."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, Field, model_validator


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


class Targets(BaseModel):
    """Training targets beyond the training split's own labels; validation always scores the dataset's labels."""

    ferplus_votes: Optional[str] = None  # fer2013new.csv: mix each training row's FER+ vote distribution in
    ferplus_weight: float = Field(0.5, ge=0, le=1)  # target = (1 - w) * label + w * votes (rows FER+ lacks: label)
    teacher: Optional[str] = None        # teacher probabilities on the training rows (ferbench teacher-targets)
    distill_weight: float = Field(0.5, ge=0, le=1)  # loss = (1 - a) * CE + a * T^2 * KL(teacher_T || student_T)
    temperature: float = Field(2.0, gt=0)


class DegradeAugment(BaseModel):
    """Degradation-aware training: registered degradations (``ferbench.degrade``) applied to training faces after
    the usual augmentation, at random severities, alone or two in sequence. Never applied to validation faces."""

    p: float = Field(0.0, ge=0, le=1)    # probability that a training face is degraded (0 = off)
    kinds: list[str] = Field(default_factory=list)  # kinds to train on (the rest are held out); empty = all
    severities: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5])
    p_pair: float = Field(0.3, ge=0, le=1)  # probability that a degraded face gets two kinds, in random order
    consistency: float = Field(0.0, ge=0)   # AugMix-style JS divergence between clean and degraded views (0 = off)


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
    # which epoch's weights the run keeps: the best on val_split's clean faces, or the last (for training whose
    # aim is not clean accuracy, e.g. degradation-aware fine-tuning, where the clean best is the least trained)
    keep: Literal["best", "last"] = "best"
    max_minutes: Optional[float] = None  # stop after this much training time (a CPU budget)
    targets: Targets = Field(default_factory=Targets)
    degrade: DegradeAugment = Field(default_factory=DegradeAugment)
    channels_last: bool = False         # NHWC memory format for the model and its inputs (see train_speed.py)

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

    @model_validator(mode="after")
    def _compatible(self) -> "TrainConfig":
        if self.degrade.consistency > 0 and (self.augment.mixup > 0 or self.augment.cutmix > 0):
            raise ValueError("degrade.consistency compares two views of one face: it cannot be combined with "
                             "augment.mixup or augment.cutmix")
        if self.degrade.consistency > 0 and self.degrade.p == 0:
            raise ValueError("degrade.consistency needs degraded views: set degrade.p > 0")
        bad = [s for s in self.degrade.severities if s not in (1, 2, 3, 4, 5)]
        if bad or not self.degrade.severities:
            raise ValueError(f"degrade.severities must be a non-empty list of 1-5, got {self.degrade.severities}")
        return self

    def result_affecting(self) -> dict:
        """The settings that change the trained weights (not where they are written or how fast). Newer settings
        left at their defaults are omitted, so configurations written before them keep their hash."""
        dump = self.model_dump(mode="json", exclude={"num_workers", "threads"})
        for key, default in (("targets", Targets()), ("degrade", DegradeAugment()), ("channels_last", False),
                             ("keep", "best")):
            if getattr(self, key) == default:
                dump.pop(key)
        return dump

    def input_files(self) -> dict[str, str]:
        """Files besides the data whose content changes the result (their hashes join the config hash)."""
        files = {"pretrained": self.pretrained, "ferplus_votes": self.targets.ferplus_votes,
                 "teacher": self.targets.teacher}
        return {k: v for k, v in files.items() if v is not None}
