"""``train``: data -> Lightning fit (model selection on the validation split) -> safetensors checkpoint.

Writes into ``out``: ``checkpoints/{best,last}.ckpt`` (Lightning, with optimiser state, for ``--resume``),
``model.safetensors`` + ``model.json`` (the best weights, or the last with ``keep: last``, and their config, what
``ferbench eval`` loads),
``history.jsonl`` (one line per epoch: seconds, loss, validation metrics) and ``train.json`` (config,
versions, data hashes, cost of each phase).
"""

from __future__ import annotations

import json
import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..cost import PhaseMeter, bf16_notice, count_flops, count_params, machine_info
from ..data import load_dataset
from ..emotions import NUM_CLASSES
from ..models import create_model
from ..models.checkpoint import save_checkpoint
from ..models.config import ModelConfig, Preprocess
from ..utils.provenance import now, versions
from ..utils.io import sha256_file, sha256_json, write_json
from .checkpoints import inside, load_ckpt
from .config import TrainConfig
from .inputs import input_file_hashes, training_faces, uses_extras

TRAIN_JSON, HISTORY = "train.json", "history.jsonl"


class _NoAdverts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "litlogger" not in record.getMessage()


def _history_callback(out: Path, announce: bool):
    import lightning as L

    class History(L.Callback):
        """Appends one JSON line per finished epoch (survives interruption; a resumed run continues it)."""

        def on_train_epoch_start(self, trainer, pl_module) -> None:
            self.t0 = time.perf_counter()

        def on_validation_epoch_end(self, trainer, pl_module) -> None:
            if trainer.sanity_checking or not hasattr(self, "t0"):
                return
            m = {k: round(float(v), 6) for k, v in trainer.callback_metrics.items()}
            rec = {"epoch": trainer.current_epoch, "seconds": round(time.perf_counter() - self.t0, 2),
                   "step": trainer.global_step, **m}
            with open(out / HISTORY, "a") as fh:
                fh.write(json.dumps(rec) + "\n")
            if announce:
                val = ", ".join(f"{k} {v:.4f}" for k, v in m.items() if k.startswith("val_"))
                print(f"epoch {rec['epoch'] + 1}/{trainer.max_epochs}: {val} ({rec['seconds']:.0f} s)",
                      file=sys.stderr, flush=True)

    return History()


def train(cfg: TrainConfig, out: str | Path, resume: bool = False, progress: bool = True,
          dataset=None) -> dict[str, Any]:
    """Train ``cfg.model``. ``dataset``: an already prepared Dataset (e.g. restored faces) to use instead of
    reading ``cfg.data``; ``cfg.restore`` must then describe how it was made, for the config hash."""
    import lightning as L
    from lightning.pytorch.callbacks import EarlyStopping, EMAWeightAveraging, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger
    from torch.utils.data import DataLoader

    from .data import EpochSampler, FaceDataset, class_weights
    from .module import FERModule

    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_NoAdverts())
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    file_hashes = input_file_hashes(cfg)  # pretrained weights, FER+ votes, teacher: their content, not their path
    config_hash = sha256_json({**cfg.result_affecting(), **file_hashes})
    ckpt_dir = out / "checkpoints"
    if resume:
        previous = json.loads((out / TRAIN_JSON).read_text()) if (out / TRAIN_JSON).exists() else {}
        if previous.get("config_hash") not in (None, config_hash):
            raise ValueError(f"{out}: --resume with a different configuration than the interrupted run")
        if not (ckpt_dir / "last.ckpt").exists():
            resume = False  # interrupted before the first epoch ended: start over
        else:
            load_ckpt(ckpt_dir / "last.ckpt")  # refuse a planted or damaged file before Lightning touches it
    elif (ckpt_dir / "last.ckpt").exists():
        raise ValueError(f"{out} already holds a training run; pass --resume to continue it or choose a new --out")
    if not resume:
        (out / HISTORY).unlink(missing_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    L.seed_everything(cfg.seed, workers=True, verbose=False)

    with PhaseMeter("preprocessing") as pre:
        ds = dataset if dataset is not None else load_dataset(cfg.data, ferplus=cfg.ferplus,
                                                               label_mode=cfg.label_mode)
        train_ds = ds.select(cfg.train_split, limit=cfg.limit_train)
        val_ds = ds.select(cfg.val_split, limit=cfg.limit_val)
    pre.set_items(len(train_ds) + len(val_ds))

    model = create_model(cfg.model, num_classes=NUM_CLASSES, in_chans=cfg.in_chans, input_size=cfg.input_size,
                         pretrained=cfg.pretrained, **cfg.arch_kwargs)
    weights = class_weights(train_ds.labels, NUM_CLASSES)
    sampler = EpochSampler(len(train_ds), cfg.seed,
                           weights=weights[train_ds.labels] if cfg.balance == "sampler" else None)
    soft = cfg.label_mode == "soft" and cfg.ferplus is not None
    extras: dict = {}
    if uses_extras(cfg):
        train_faces, extras = training_faces(cfg, train_ds, ds, soft)
    else:
        train_faces = FaceDataset(train_ds, cfg.augment, cfg.seed, soft)
    train_loader = DataLoader(train_faces, batch_size=cfg.batch_size,
                              sampler=sampler, num_workers=cfg.num_workers, drop_last=len(train_ds) > cfg.batch_size,
                              persistent_workers=cfg.num_workers > 0)
    val_loader = DataLoader(FaceDataset(val_ds, None, cfg.seed, soft), batch_size=max(cfg.batch_size, 256),
                            num_workers=cfg.num_workers, persistent_workers=cfg.num_workers > 0)
    module = FERModule(cfg, model, steps_per_epoch=len(train_loader),
                       weights=weights if cfg.balance == "weighted_loss" else None)

    checkpoint = ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor="val_accuracy", mode="max",
                                 save_top_k=1, enable_version_counter=False)
    # last.ckpt (what --resume continues from) after every epoch: since Lightning 2.6, save_last=True on the
    # monitored callback writes it only when the best improves, so a resume would have restarted from the best epoch
    last = ModelCheckpoint(dirpath=ckpt_dir, filename="last", monitor=None, save_top_k=1,
                           save_on_train_epoch_end=False, enable_version_counter=False)
    # a log file shows no progress bar: one line per epoch there instead
    callbacks: list = [checkpoint, last, _history_callback(out, announce=progress and not sys.stderr.isatty())]
    if cfg.early_stopping:
        callbacks.append(EarlyStopping("val_accuracy", mode="max", patience=cfg.early_stopping))
    if cfg.ema_decay:
        callbacks.append(EMAWeightAveraging(decay=cfg.ema_decay))
    precision = cfg.precision if cfg.precision != "auto" else ("16-mixed" if torch.cuda.is_available() else "32-true")
    device = "cpu" if cfg.accelerator == "cpu" or not torch.cuda.is_available() else "cuda"
    if notice := bf16_notice("training", precision, device):
        warnings.warn(f"{notice}; --set precision=32-true trains in float32 (a different run)", stacklevel=2)
    trainer = L.Trainer(
        max_epochs=cfg.epochs, max_time={"minutes": cfg.max_minutes} if cfg.max_minutes else None,
        accelerator=cfg.accelerator, devices=cfg.devices if cfg.devices == "auto" else int(cfg.devices),
        num_nodes=cfg.num_nodes, strategy=cfg.strategy, precision=precision, deterministic=True,
        callbacks=callbacks, logger=CSVLogger(out, name="logs"), default_root_dir=out,
        enable_progress_bar=progress, enable_model_summary=False, num_sanity_val_steps=0,
        log_every_n_steps=max(1, min(50, len(train_loader))),
    )
    run = {"ferbench_run": 1, "kind": "train", "status": "running", "started": now(), "config": cfg.model_dump(mode="json"),
           "config_hash": config_hash, "input_files": file_hashes, "training_inputs": extras, "seed": cfg.seed,
           "versions": versions(), "machine": machine_info(),
           "dataset": {"source": ds.source, "source_sha256": ds.source_hash, "train": {"split": cfg.train_split,
                       "n": len(train_ds), "fingerprint": train_ds.fingerprint}, "val": {"split": cfg.val_split,
                       "n": len(val_ds), "fingerprint": val_ds.fingerprint}}}
    write_json(out / TRAIN_JSON, run)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*LeafSpec.*")
        with PhaseMeter("training", batch_size=cfg.batch_size, precision=precision) as meter:
            trainer.fit(module, train_loader, val_loader, ckpt_path=ckpt_dir / "last.ckpt" if resume else None,
                        weights_only=True)
    history = [json.loads(line) for line in (out / HISTORY).read_text().splitlines()] if (out / HISTORY).exists() else []
    meter.set_items(len(train_ds) * len(history))

    # a resumed run restores Lightning's absolute best_model_path, which in a copied folder is the original's
    if cfg.keep == "last":
        state = load_ckpt(ckpt_dir / "last.ckpt")["state_dict"]
        best = history[-1] if history else {}
    else:
        best_path = inside(ckpt_dir, checkpoint.best_model_path or "best.ckpt")
        state = load_ckpt(best_path)["state_dict"]
        best = max(history, key=lambda h: h.get("val_accuracy", -1)) if history else {}
    state = {k[len("model."):]: v for k, v in state.items() if k.startswith("model.")}
    pre_cfg = Preprocess(input_size=cfg.input_size, in_chans=cfg.in_chans, mean=cfg.mean, std=cfg.std)
    model_cfg = ModelConfig(arch=cfg.model, preprocess=pre_cfg, arch_kwargs=cfg.arch_kwargs, provenance={
        "trained_by": "ferbench train", "config_hash": config_hash, "recipe": cfg.model_dump(mode="json"),
        "data_sha256": ds.source_hash, "train_fingerprint": train_ds.fingerprint, "best_epoch": best.get("epoch"),
        "val_accuracy": best.get("val_accuracy"), "val_f1_macro": best.get("val_f1_macro"),
        "epochs_run": len(history), "training_cost": {**meter.result, "epochs": len(history)}})
    model.load_state_dict(state)
    weights_path = save_checkpoint(model, model_cfg, out / "model.safetensors")
    epoch_seconds = [h["seconds"] for h in history]
    run.update(status="finished", finished=now(), best=best, epochs_run=len(history),
               checkpoint={"path": str(weights_path), "sha256": sha256_file(weights_path)},
               cost={"preprocessing": pre.result, "training": {**meter.result,
                     "seconds_per_epoch_median": float(np.median(epoch_seconds)) if epoch_seconds else None,
                     # all epochs, across interruptions (wall_s is this process's share of a resumed run)
                     "epoch_seconds_total": float(sum(epoch_seconds)),
                     "epochs": len(history), "interrupted_and_resumed": resume},
                     "model": {"params": count_params(model),
                               "flops_per_image": count_flops(model, (cfg.in_chans, cfg.input_size, cfg.input_size))}})
    write_json(out / TRAIN_JSON, run)
    return run
