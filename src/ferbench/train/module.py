"""The LightningModule: loss (label smoothing, class weights, soft targets), mixup/cutmix, metrics."""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from ..emotions import NUM_CLASSES
from ..models.config import Preprocess
from ..models.preprocess import normalize_batch
from .config import TrainConfig
from .data import _seed
from .losses import distillation_kl, js_divergence


def mix_batch(x: torch.Tensor, y: torch.Tensor, mixup: float, cutmix: float, gen: torch.Generator):
    """Mixup or CutMix (one per batch) on soft targets: works for one-hot and FER+ vote distributions alike."""
    use_cutmix = cutmix > 0 and (mixup <= 0 or torch.rand(1, generator=gen).item() < 0.5)
    alpha = cutmix if use_cutmix else mixup
    lam = float(np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=gen))).beta(alpha, alpha))
    perm = torch.randperm(x.shape[0], generator=gen)
    if use_cutmix:
        h, w = x.shape[-2:]
        ch, cw = int(h * (1 - lam) ** 0.5), int(w * (1 - lam) ** 0.5)
        cy, cx = int(torch.randint(0, h, (1,), generator=gen)), int(torch.randint(0, w, (1,), generator=gen))
        y0, y1, x0, x1 = max(cy - ch // 2, 0), min(cy + ch // 2, h), max(cx - cw // 2, 0), min(cx + cw // 2, w)
        x = x.clone()
        x[..., y0:y1, x0:x1] = x[perm][..., y0:y1, x0:x1]
        lam = 1 - (y1 - y0) * (x1 - x0) / (h * w)
    else:
        x = lam * x + (1 - lam) * x[perm]
    return x, lam * y + (1 - lam) * y[perm]


def x_on_gpu(batch) -> bool:
    return batch[0].device.type != "cpu"


class FERModule(L.LightningModule):
    def __init__(self, cfg: TrainConfig, model: torch.nn.Module, steps_per_epoch: int,
                 weights: np.ndarray | None = None):
        super().__init__()
        self.cfg, self.model, self.steps_per_epoch = cfg, model, steps_per_epoch
        self.pre = Preprocess(input_size=cfg.input_size, in_chans=cfg.in_chans, mean=cfg.mean, std=cfg.std)
        self.register_buffer("class_weight", torch.as_tensor(weights, dtype=torch.float32) if weights is not None
                             else torch.ones(NUM_CLASSES))
        self.train_acc = MulticlassAccuracy(NUM_CLASSES, average="micro")
        self.val_acc = MulticlassAccuracy(NUM_CLASSES, average="micro")
        self.val_f1 = MulticlassF1Score(NUM_CLASSES, average="macro")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def _targets(self, y: torch.Tensor) -> torch.Tensor:
        return y if y.ndim == 2 else F.one_hot(y, NUM_CLASSES).float()

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        x = normalize_batch(x, self.pre)
        return x.contiguous(memory_format=torch.channels_last) if self.cfg.channels_last else x

    def on_fit_start(self) -> None:
        if self.cfg.channels_last:
            self.model.to(memory_format=torch.channels_last)

    def training_step(self, batch, batch_idx: int):
        # Dropout and mixup draw from the global RNG: seed it from the step so a resumed run matches.
        seed = _seed(self.cfg.seed, 1, self.global_step)
        torch.manual_seed(seed) if x_on_gpu(batch) else torch.default_generator.manual_seed(seed)
        x, y, *rest = batch  # extras, in this order, when configured: teacher probabilities, degraded view
        teacher = rest.pop(0) if self.cfg.targets.teacher else None
        second = rest.pop(0) if self.cfg.degrade.consistency > 0 else None
        x = self._input(x)
        target = self._targets(y)
        aug = self.cfg.augment
        if aug.mixup > 0 or aug.cutmix > 0:
            gen = torch.Generator().manual_seed(_seed(self.cfg.seed, 2, self.global_step))
            both = target if teacher is None else torch.cat([target, teacher], dim=1)  # one mix for both
            x, both = mix_batch(x, both, aug.mixup, aug.cutmix, gen)
            target, teacher = (both, None) if teacher is None else both.split(NUM_CLASSES, dim=1)
        if second is not None:  # one forward pass for both views (as AugMix): batch norm sees them together
            logits, logits_second = self(torch.cat([x, self._input(second)])).chunk(2)
        else:
            logits = self(x)
        loss = F.cross_entropy(logits, target, weight=self.class_weight, label_smoothing=self.cfg.label_smoothing)
        t = self.cfg.targets
        if teacher is not None:
            kd = distillation_kl(logits, teacher, t.temperature)
            loss = (1 - t.distill_weight) * loss + t.distill_weight * kd
            self.log("kd", kd)
        if second is not None:
            js = js_divergence(logits, logits_second)
            loss = loss + self.cfg.degrade.consistency * js
            self.log("js", js)
        self.train_acc(logits.argmax(1), target.argmax(1))
        self.log("loss", loss, prog_bar=True)
        self.log("acc", self.train_acc, prog_bar=True, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        x, y = batch
        logits = self(self._input(x))
        target = self._targets(y)
        loss = F.cross_entropy(logits, target)
        hard = target.argmax(1)
        self.val_acc(logits.argmax(1), hard)
        self.val_f1(logits.argmax(1), hard)
        self.log("val_loss", loss, prog_bar=False, on_epoch=True)
        self.log("val_accuracy", self.val_acc, prog_bar=True, on_epoch=True)
        self.log("val_f1_macro", self.val_f1, prog_bar=True, on_epoch=True)

    def configure_optimizers(self):
        cfg = self.cfg
        decay, no_decay = [], []
        for name, p in self.model.named_parameters():
            (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
        groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        if cfg.optimizer == "sgd":
            opt = torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=True)
        else:
            opt = torch.optim.AdamW(groups, lr=cfg.lr)
        total = max(1, cfg.epochs * self.steps_per_epoch)
        if cfg.scheduler == "onecycle":
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total,
                                                        pct_start=min(0.3, max(cfg.warmup_epochs, 0.01) / cfg.epochs))
        elif cfg.scheduler == "cosine":
            warm = int(cfg.warmup_epochs * self.steps_per_epoch)
            cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, total - warm))
            sched = (torch.optim.lr_scheduler.SequentialLR(
                opt, [torch.optim.lr_scheduler.LinearLR(opt, 0.01, 1.0, warm), cosine], [warm]) if warm else cosine)
        else:
            return opt
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
