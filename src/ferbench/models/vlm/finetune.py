"""Full or partial fine-tuning of a CLIP-family classifier on FER-2013 Training, selected on PublicTest.

``unfreeze``: 0 trains the head only; N trains the last N transformer blocks, everything after them (final
norm, pooling head, projection) and the head; -1 trains everything. Training starts from the model's
current head (zero-shot prompts or a probe), which keeps the first steps from wrecking the features.
"""

from __future__ import annotations

import copy
import math
import re
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from ...data.dataset import Dataset
from ..preprocess import to_tensor
from ..torch_predictor import TorchPredictor
from .classifier import ClipClassifier

# Parameters outside the block list that come before it (patch/position embeddings, pre-norm).
_STEM = re.compile(r"embed|conv1|patch|ln_pre|pre_layrnorm|cls_token|reg_token|positional")


def block_list(encoder: nn.Module) -> tuple[str, nn.ModuleList]:
    """The encoder's transformer blocks: its longest ``ModuleList``."""
    lists = [(name, m) for name, m in encoder.named_modules() if isinstance(m, nn.ModuleList) and len(m)]
    if not lists:
        raise ValueError("no block list found in the image encoder: use unfreeze=0 or -1")
    return max(lists, key=lambda item: len(item[1]))


def set_trainable(module: ClipClassifier, unfreeze: int) -> list[str]:
    """Freeze all but what ``unfreeze`` selects; returns the trainable parameter names."""
    names = []
    blocks_name, blocks = block_list(module.encoder) if unfreeze > 0 else ("", None)
    first = len(blocks) - min(unfreeze, len(blocks)) if blocks is not None else 0
    for name, p in module.named_parameters():
        if unfreeze < 0 or name.startswith("head."):
            train = True
        elif unfreeze == 0:
            train = False
        else:
            inner = name[len("encoder."):]
            match = re.match(rf"{re.escape(blocks_name)}\.(\d+)\.", inner)
            train = int(match.group(1)) >= first if match else not _STEM.search(inner)
        p.requires_grad_(train)
        if train:
            names.append(name)
    return names


@torch.inference_mode()
def accuracy(module: nn.Module, predictor: TorchPredictor, ds: Dataset, batch_size: int) -> float:
    module.eval()
    correct = 0
    for lo in range(0, len(ds), batch_size):
        x = to_tensor(ds.images[lo:lo + batch_size], predictor.config.preprocess).to(predictor.device)
        correct += int((module(x).argmax(1).cpu().numpy() == ds.labels[lo:lo + batch_size]).sum())
    return correct / max(1, len(ds))


def finetune(predictor: TorchPredictor, train: Dataset, val: Dataset, unfreeze: int = 2, epochs: int = 3,
             lr: float = 1e-5, head_lr: float | None = None, weight_decay: float = 0.05, batch_size: int = 32,
             label_smoothing: float = 0.1, seed: int = 0, max_minutes: float | None = None,
             progress: bool = True) -> tuple[ClipClassifier, dict[str, Any]]:
    """Train a copy of the predictor's classifier; returns the best epoch's weights (PublicTest accuracy)."""
    from ...utils.progress import progress_bar

    module: ClipClassifier = copy.deepcopy(predictor.module).to(predictor.device)
    trainable = set_trainable(module, unfreeze)
    head = [p for n, p in module.named_parameters() if n.startswith("head.")]
    body = [p for n, p in module.named_parameters() if p.requires_grad and not n.startswith("head.")]
    groups = [{"params": head, "lr": head_lr or lr * 10}] + ([{"params": body, "lr": lr}] if body else [])
    opt = torch.optim.AdamW(groups, weight_decay=weight_decay)
    steps = epochs * math.ceil(len(train) / batch_size)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup)
                                              * 0.5 * (1 + math.cos(math.pi * min(1.0, s / max(1, steps)))))
    g = torch.Generator().manual_seed(seed)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    labels = torch.from_numpy(train.labels.astype(np.int64))
    best = (accuracy(module, predictor, val, batch_size), copy.deepcopy(module.state_dict()), 0)
    history = [{"epoch": 0, "val_accuracy": best[0]}]
    t0 = time.perf_counter()
    with progress_bar() as bar:
        task = bar.add_task("fine-tuning", total=steps, rate="", visible=progress)
        for epoch in range(1, epochs + 1):
            module.train()
            order, total = torch.randperm(len(train), generator=g), 0.0
            for lo in range(0, len(train), batch_size):
                idx = order[lo:lo + batch_size].numpy()
                x = to_tensor(train.images[idx], predictor.config.preprocess).to(predictor.device)
                flip = torch.rand(len(idx), generator=g) < 0.5  # horizontal flip: expressions are symmetric
                x[flip] = x[flip].flip(-1)
                loss = loss_fn(module(x), labels[idx].to(predictor.device))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                total += loss.item() * len(idx)
                bar.update(task, advance=1, rate=f"loss {loss.item():.3f}")
            acc = accuracy(module, predictor, val, batch_size)
            history.append({"epoch": epoch, "train_loss": total / len(train), "val_accuracy": acc})
            if acc > best[0]:
                best = (acc, copy.deepcopy(module.state_dict()), epoch)
            if max_minutes is not None and time.perf_counter() - t0 > 60 * max_minutes:
                break
    module.load_state_dict(best[1])
    module.eval().requires_grad_(False)
    report = {"method": "finetune", "unfreeze": unfreeze, "trainable_params": sum(
        p.numel() for n, p in module.named_parameters() if n in trainable), "epochs": epochs, "lr": lr,
        "head_lr": head_lr or lr * 10, "weight_decay": weight_decay, "batch_size": batch_size,
        "label_smoothing": label_smoothing, "seed": seed, "n_train": len(train), "n_val": len(val),
        "best_epoch": best[2], "val_accuracy": best[0], "history": history}
    return module, report
