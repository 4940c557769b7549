"""``ferbench train``: train a registered CNN on a FER dataset (selection on PublicTest)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import console, fail, out


def train_command(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Registered trainable model: vgg19, resnet50, "
                                        "efficientnet_b0, fernet, tiny_cnn... (ferbench models list --family cnn) "
                                        "[resnet50, or the --config's]."),
    data: Path = typer.Option(..., "--data", "-d", exists=True, help="FER-2013 CSV or image folder."),
    out_dir: Path = typer.Option(..., "--out", "-o", help="Output folder (checkpoints, model.safetensors, train.json)."),
    config: Optional[Path] = typer.Option(None, "--config", exists=True, dir_okay=False,
                                          help="YAML/JSON TrainConfig; command-line options override it."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run in --out from its last "
                                "epoch checkpoint (same configuration required)."),
    epochs: Optional[int] = typer.Option(None, help="Maximum epochs [30]."),
    max_minutes: Optional[float] = typer.Option(None, help="Stop after this many minutes of training (CPU budget)."),
    batch_size: Optional[int] = typer.Option(None, help="Batch size [64]."),
    lr: Optional[float] = typer.Option(None, help="Peak learning rate [1e-3]."),
    optimizer: Optional[str] = typer.Option(None, help="adamw or sgd [adamw]."),
    scheduler: Optional[str] = typer.Option(None, help="cosine, onecycle or none [cosine]."),
    input_size: Optional[int] = typer.Option(None, help="Network input size: 48, 96, 224... [48]."),
    in_chans: Optional[int] = typer.Option(None, help="1 (gray) or 3 (colour, e.g. restored faces) [1]."),
    pretrained: Optional[Path] = typer.Option(None, exists=True, help="Local ImageNet weights file."),
    label_smoothing: Optional[float] = typer.Option(None, help="Label smoothing [0.1]."),
    mixup: Optional[float] = typer.Option(None, help="Mixup alpha (0 = off) [0]."),
    cutmix: Optional[float] = typer.Option(None, help="CutMix alpha (0 = off) [0]."),
    balance: Optional[str] = typer.Option(None, help="Class imbalance: none, weighted_loss or sampler [none]."),
    ema_decay: Optional[float] = typer.Option(None, help="EMA of weights, e.g. 0.999 (off by default)."),
    early_stopping: Optional[int] = typer.Option(None, help="Patience in epochs on PublicTest accuracy [10]."),
    ferplus: Optional[Path] = typer.Option(None, exists=True, help="Train on FER+ labels from fer2013new.csv."),
    label_mode: Optional[str] = typer.Option(None, help="FER+ labels: majority, plurality, soft."),
    seed: Optional[int] = typer.Option(None, help="Random seed [0]."),
    limit_train: Optional[int] = typer.Option(None, help="Use only the first N training images (quick runs)."),
    limit_val: Optional[int] = typer.Option(None, help="Use only the first N validation images."),
    devices: Optional[str] = typer.Option(None, help="Lightning devices (auto, or a count: DDP when > 1)."),
    num_nodes: Optional[int] = typer.Option(None, help="Lightning nodes for multi-node DDP."),
    accelerator: Optional[str] = typer.Option(None, help="auto, cpu, gpu..."),
    precision: Optional[str] = typer.Option(None, help="auto (16-mixed on GPU, 32 on CPU), bf16-mixed, 32-true..."),
    threads: Optional[int] = typer.Option(None, help="Torch CPU threads."),
    num_workers: Optional[int] = typer.Option(None, help="DataLoader worker processes [0]."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train a CNN: augmentation, imbalance handling, AdamW/SGD with cosine/one-cycle, label smoothing,
    mixup/cutmix, EMA, early stopping and model selection on PublicTest; checkpoints and --resume."""
    import yaml
    from pydantic import ValidationError

    from ..train import TrainConfig
    from ..train.fit import train

    base = yaml.safe_load(config.read_text()) if config else {}
    overrides = {k: v for k, v in dict(model=model, epochs=epochs, max_minutes=max_minutes, batch_size=batch_size,
                 lr=lr, optimizer=optimizer, scheduler=scheduler, input_size=input_size, in_chans=in_chans,
                 pretrained=str(pretrained) if pretrained else None, label_smoothing=label_smoothing,
                 balance=balance, ema_decay=ema_decay, early_stopping=early_stopping,
                 ferplus=str(ferplus) if ferplus else None, label_mode=label_mode, seed=seed,
                 limit_train=limit_train, limit_val=limit_val, devices=devices, num_nodes=num_nodes,
                 accelerator=accelerator, precision=precision, threads=threads, num_workers=num_workers).items()
                 if v is not None}
    if "model" not in base and "model" not in overrides:
        overrides["model"] = "resnet50"
    augment = dict(base.get("augment", {}))
    augment.update({k: v for k, v in (("mixup", mixup), ("cutmix", cutmix)) if v is not None})
    try:
        cfg = TrainConfig.model_validate({**base, **overrides, "data": str(data), "augment": augment})
    except ValidationError as exc:
        fail(f"invalid training configuration:\n{exc}", code=2)
    console.print(f"training [bold]{cfg.model}[/] on {data} -> {out_dir}")
    try:
        run = train(cfg, out_dir, resume=resume, progress=not quiet)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        fail(str(exc), code=2)
    best = run.get("best", {})
    t = run["cost"]["training"]
    out.print(f"[bold]{cfg.model}[/]: {run['epochs_run']} epochs in {t['wall_s'] / 60:.1f} min "
              f"({t['seconds_per_epoch_median'] or 0:.0f} s/epoch); best {cfg.val_split} accuracy "
              f"{best.get('val_accuracy', float('nan')):.2%} (epoch {best.get('epoch')}), "
              f"f1_macro {best.get('val_f1_macro', float('nan')):.2%}")
    out.print(f"weights: {run['checkpoint']['path']}  ->  ferbench eval --checkpoint {run['checkpoint']['path']} --data ...")
