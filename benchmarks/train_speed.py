"""Seconds per training epoch and inference images/s of the paper's CNNs at 48 px on this machine.

Training speed is measured on the real pipeline (FaceDataset augmentation + FERModule.training_step +
AdamW step, via Lightning) for ``--batches`` batches after ``--warmup`` batches, then extrapolated to one
epoch of FER-2013 Training (28,709 images) plus one validation pass over PublicTest (3,589 images).
Inference: eval mode, no grad, batch ``--infer-batch``, through ``TorchPredictor`` (preprocessing included).

    python benchmarks/train_speed.py [--models vgg19 resnet50 efficientnet_b0] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "fer2013-train-public.csv.gz"
TRAIN_N, VAL_N = 28709, 3589


def train_step_seconds(model_name: str, batch_size: int, batches: int, warmup: int) -> float:
    import lightning as L

    from ferbench.data import load_dataset
    from ferbench.models import create_model
    from ferbench.train import TrainConfig
    from ferbench.train.data import EpochSampler, FaceDataset
    from ferbench.train.module import FERModule

    cfg = TrainConfig(model=model_name, data=str(DATA), batch_size=batch_size, epochs=1)
    ds = load_dataset(DATA, split="Training", limit=batch_size * (batches + warmup))
    loader = torch.utils.data.DataLoader(FaceDataset(ds, cfg.augment, 0), batch_size=batch_size,
                                         sampler=EpochSampler(len(ds), 0))
    module = FERModule(cfg, create_model(model_name), steps_per_epoch=len(loader))
    starts: list[float] = []

    class Clock(L.Callback):  # batch-start to batch-start: data loading + augmentation + step
        def on_train_batch_start(self, *a):
            starts.append(time.perf_counter())

    trainer = L.Trainer(max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, callbacks=[Clock()])
    trainer.fit(module, loader)
    return float(np.median(np.diff(starts)[warmup:]))


def inference_images_per_s(model_name: str, batch: int, repeats: int) -> float:
    from ferbench.models import create_model
    from ferbench.models.config import ModelConfig
    from ferbench.models.torch_predictor import TorchPredictor

    pred = TorchPredictor(create_model(model_name), ModelConfig(arch=model_name))
    images = np.random.default_rng(0).integers(0, 255, (batch, 48, 48), dtype=np.uint8)
    pred.predict(images[:8])
    t0 = time.perf_counter()
    for _ in range(repeats):
        pred.predict(images)
    return batch * repeats / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["vgg19", "resnet50", "efficientnet_b0"])
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--batches", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--infer-batch", type=int, default=256)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    from ferbench.cost import count_flops, count_params
    from ferbench.models import create_model

    results = {"threads": torch.get_num_threads(), "batch_size": args.batch_size, "models": {}}
    for name in args.models:
        step = train_step_seconds(name, args.batch_size, args.batches, args.warmup)
        ips = inference_images_per_s(name, args.infer_batch, repeats=3)
        epoch = step * math.ceil(TRAIN_N / args.batch_size) + VAL_N / ips
        m = create_model(name)
        results["models"][name] = {"train_seconds_per_batch": round(step, 3), "seconds_per_epoch": round(epoch, 1),
                                   "inference_images_per_s": round(ips, 1), "params": count_params(m),
                                   "gflops_per_image": round(count_flops(m, (1, 48, 48)) / 1e9, 3)}
        print(f"{name:16s} {step:.3f} s/batch of {args.batch_size} -> {epoch / 60:.1f} min/epoch   "
              f"inference {ips:.0f} img/s   {results['models'][name]['gflops_per_image']} GFLOPs/img", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
