"""``ferbench train``: train a registered CNN on a FER dataset (selection on PublicTest)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import console, fail, out

# every TrainConfig field is also accepted as --FIELD VALUE (see ferbench.train.settings), so no list here
CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True}
EPILOG = ("Every training setting is also an option: --KEY VALUE or --set KEY=VALUE (repeatable), e.g. --lr 3e-4 "
          "--batch-size 32 --max-minutes 20 --input-size 96 --in-chans 3 --pretrained FILE --mixup 0.2 --balance "
          "sampler --limit-train 500 --devices 2 --set targets.teacher=T.safetensors. The settings are the "
          "fields of ferbench.train.TrainConfig (nested ones dotted: augment.*, targets.*, degrade.*).")


def _settings(pairs: Optional[list[str]], extra: list[str]) -> dict[str, str]:
    """``--set k=v`` pairs and ``--k v`` / ``--k=v`` options, as key -> text (the command line's order)."""
    settings: dict[str, str] = {}
    for pair in pairs or []:
        if "=" not in pair:
            fail(f"--set {pair!r}: expected key=value", code=2)
        key, value = pair.split("=", 1)
        settings[key] = value
    tokens = list(extra)
    while tokens:
        token = tokens.pop(0)
        if not token.startswith("--") or len(token) < 3:
            fail(f"unexpected argument {token!r} (settings are --KEY VALUE or --set KEY=VALUE)", code=2)
        key, eq, value = token[2:].partition("=")
        if not eq:
            if not tokens:
                fail(f"option {token} needs a value", code=2)
            value = tokens.pop(0)
        settings[key] = value
    return settings


def train_command(
    ctx: typer.Context,
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Registered trainable model: vgg19, resnet50, "
                                        "efficientnet_b0, fernet, tiny_cnn... (ferbench models list --family cnn) "
                                        "[resnet50, or the --config's]."),
    data: Path = typer.Option(..., "--data", "-d", exists=True, help="FER-2013 CSV or image folder."),
    out_dir: Path = typer.Option(..., "--out", "-o", help="Output folder (checkpoints, model.safetensors, train.json)."),
    config: Optional[Path] = typer.Option(None, "--config", exists=True, dir_okay=False,
                                          help="YAML/JSON TrainConfig (a recipe); command-line settings override it."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run in --out from its last "
                                "epoch checkpoint (same configuration required)."),
    epochs: Optional[int] = typer.Option(None, help="Maximum epochs [30]."),
    set_: Optional[list[str]] = typer.Option(None, "--set", help="A training setting KEY=VALUE (repeatable; values "
                                             "read as YAML), e.g. --set lr=3e-4 --set augment.mixup=0.2."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train a CNN: augmentation, imbalance handling, AdamW/SGD with cosine/one-cycle, label smoothing,
    mixup/cutmix, EMA, early stopping and model selection on PublicTest; checkpoints and --resume."""
    import yaml
    from pydantic import ValidationError

    from ..train.fit import train
    from ..train.settings import train_config

    recipe = yaml.safe_load(config.read_text()) if config else {}
    settings = _settings(set_, ctx.args)
    settings.update({k: str(v) for k, v in (("model", model), ("epochs", epochs)) if v is not None})
    try:
        cfg = train_config(str(data), recipe, settings)
    except ValidationError as exc:
        fail(f"invalid training configuration:\n{exc}", code=2)
    except ValueError as exc:
        fail(str(exc), code=2)
    console.print(f"training [bold]{cfg.model}[/] on {data} -> {out_dir}")
    try:
        run = train(cfg, out_dir, resume=resume, progress=not quiet)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        fail(str(exc), code=2)
    best = run.get("best", {})
    t = run["cost"]["training"]
    resumed = " (all sessions of this resumed run)" if t.get("interrupted_and_resumed") else ""
    epoch = best.get("epoch")  # 0-based in the history; the per-epoch lines count from 1
    out.print(f"[bold]{cfg.model}[/]: {run['epochs_run']} epochs in {t['epoch_seconds_total'] / 60:.1f} min"
              f"{resumed} ({t['seconds_per_epoch_median'] or 0:.0f} s/epoch); best {cfg.val_split} accuracy "
              f"{best.get('val_accuracy', float('nan')):.2%} (epoch {epoch + 1 if epoch is not None else '?'}), "
              f"f1_macro {best.get('val_f1_macro', float('nan')):.2%}")
    out.print(f"weights: {run['checkpoint']['path']}  ->  ferbench eval --checkpoint {run['checkpoint']['path']} --data ...")
