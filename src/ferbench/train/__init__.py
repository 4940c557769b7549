"""Training CNNs on FER data with Lightning (DDP, mixed precision, checkpoints and resume for free)."""

from .config import TrainConfig

__all__ = ["TrainConfig"]
