"""Seconds per training epoch and inference images/s of the paper's CNNs at 48 px on this machine.

Training speed is measured on the real pipeline (FaceDataset augmentation + FERModule.training_step +
AdamW step, via Lightning) for ``--batches`` batches after ``--warmup`` batches, then extrapolated to one
epoch of FER-2013 Training (28,709 images) plus one validation pass over PublicTest (3,589 images).
Inference: eval mode, no grad, batch ``--infer-batch``, through ``TorchPredictor`` (preprocessing included).

    python benchmarks/train_speed.py [--models vgg19 resnet50 efficientnet_b0] [--json out.json]

``--compare`` measures, in one run and side by side, float32 against bf16 autocast (``precision: bf16-mixed``)
and channels_last (``channels_last: true``) for training and inference, per model and input size; inference is
preprocessing + forward at batch ``--infer-batch``, and ``max_dprob`` is the largest softmax difference from
float32 on the same random-init model and faces (a numerical check, not an accuracy):

    python benchmarks/train_speed.py --compare --models fernet efficientnet_lite0 --sizes 64 96 --batches 4
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


VARIANTS = {"fp32": ("32-true", False), "bf16": ("bf16-mixed", False), "channels_last": ("32-true", True),
            "bf16+channels_last": ("bf16-mixed", True)}
IN_CHANS = {"efficientnet_lite0": 3, "efficientnet_lite1": 3, "efficientnet_lite2": 3}


def train_step_seconds(model_name: str, batch_size: int, batches: int, warmup: int, input_size: int = 48,
                       precision: str = "32-true", channels_last: bool = False) -> float:
    import lightning as L

    from ferbench.data import load_dataset
    from ferbench.models import create_model
    from ferbench.train import TrainConfig
    from ferbench.train.data import EpochSampler, FaceDataset
    from ferbench.train.module import FERModule

    in_chans = IN_CHANS.get(model_name, 1)
    cfg = TrainConfig(model=model_name, data=str(DATA), batch_size=batch_size, epochs=1, input_size=input_size,
                      in_chans=in_chans, channels_last=channels_last)
    ds = load_dataset(DATA, split="Training", limit=batch_size * (batches + warmup))
    loader = torch.utils.data.DataLoader(FaceDataset(ds, cfg.augment, 0), batch_size=batch_size,
                                         sampler=EpochSampler(len(ds), 0))
    model = create_model(model_name, in_chans=in_chans, input_size=input_size)
    module = FERModule(cfg, model, steps_per_epoch=len(loader))
    starts: list[float] = []

    class Clock(L.Callback):  # batch-start to batch-start: data loading + augmentation + step
        def on_train_batch_start(self, *a):
            starts.append(time.perf_counter())

    trainer = L.Trainer(max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False, precision=precision,
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


def inference_variant(model_name: str, size: int, batch: int, repeats: int, bf16: bool, channels_last: bool,
                      reference: torch.Tensor | None = None) -> tuple[float, torch.Tensor]:
    """(images/s, softmax of the first batch) for preprocessing + forward with the given switches."""
    import contextlib

    from ferbench.models import create_model
    from ferbench.models.config import Preprocess
    from ferbench.models.preprocess import to_tensor

    torch.manual_seed(0)
    in_chans = IN_CHANS.get(model_name, 1)
    model = create_model(model_name, in_chans=in_chans, input_size=size).eval()
    pre = Preprocess(input_size=size, in_chans=in_chans)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    images = np.random.default_rng(0).integers(0, 255, (batch, 48, 48), dtype=np.uint8)

    def run() -> torch.Tensor:
        x = to_tensor(images, pre)
        x = x.contiguous(memory_format=torch.channels_last) if channels_last else x
        ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        with torch.inference_mode(), ctx:
            return model(x).float().softmax(1)

    proba = run()  # warm-up (and oneDNN's first-call kernel choice)
    t0 = time.perf_counter()
    for _ in range(repeats):
        run()
    return batch * repeats / (time.perf_counter() - t0), proba


def _variant_stepper(model_name: str, size: int, batch_size: int, precision: str, channels_last: bool):
    """One training step (FERModule.training_step + backward + AdamW) of a fresh model with the given switches;
    bf16 as Lightning's ``bf16-mixed`` does it on CPU (autocast around the step)."""
    import contextlib

    from ferbench.models import create_model
    from ferbench.train import TrainConfig
    from ferbench.train.module import FERModule

    torch.manual_seed(0)
    in_chans = IN_CHANS.get(model_name, 1)
    cfg = TrainConfig(model=model_name, data=str(DATA), batch_size=batch_size, input_size=size, in_chans=in_chans,
                      channels_last=channels_last)
    module = FERModule(cfg, create_model(model_name, in_chans=in_chans, input_size=size), steps_per_epoch=100)
    module.on_fit_start()
    module.train()
    opt = module.configure_optimizers()["optimizer"]
    bf16 = precision == "bf16-mixed"

    def step(batch, i: int) -> None:
        ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        with ctx:
            loss = module.training_step(batch, i)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def compare(args) -> dict:
    """fp32 vs bf16 vs channels_last, training and inference, side by side in one run. The variants are
    interleaved (round-robin, ``--rounds`` rounds of ``--batches`` batches each) and each keeps its best round
    (the least disturbed by other jobs on a shared machine; every round is in the JSON); batches are prepared once
    (augmentation timed apart, the same for all)."""
    import warnings

    from ferbench.data import load_dataset
    from ferbench.train import TrainConfig
    from ferbench.train.data import EpochSampler, FaceDataset

    warnings.filterwarnings("ignore", message=".*self.log.*")
    results: dict = {"threads": torch.get_num_threads(), "batch_size": args.batch_size, "batches": args.batches,
                     "rounds": args.rounds, "infer_batch": args.infer_batch, "rows": []}
    ds = load_dataset(DATA, split="Training", limit=args.batch_size * args.batches)
    loader = torch.utils.data.DataLoader(FaceDataset(ds, TrainConfig(data="x").augment, 0),
                                         batch_size=args.batch_size, sampler=EpochSampler(len(ds), 0))
    next(iter(loader))  # first-call imports and allocations
    t0 = time.perf_counter()
    batches = list(loader)
    data_s = (time.perf_counter() - t0) / len(batches)
    results["data_seconds_per_batch"] = round(data_s, 4)
    print(f"data loading + augmentation: {data_s:.3f} s/batch of {args.batch_size} (added to every variant)")
    print(f"{'model':18s} {'px':>4s} {'variant':19s} {'s/batch':>8s} {'min/epoch':>9s} {'x fp32':>7s} "
          f"{'infer img/s':>11s} {'x fp32':>7s} {'max_dprob':>9s} {'argmax':>6s}", flush=True)
    for name in args.models:
        for size in args.sizes:
            steppers = {v: _variant_stepper(name, size, args.batch_size, *VARIANTS[v]) for v in args.variants}
            for v, step in steppers.items():  # warm-up: oneDNN picks and caches kernels on first calls
                step(batches[0], 0)
            times: dict[str, list[float]] = {v: [] for v in args.variants}
            infer: dict[str, list[float]] = {v: [] for v in args.variants}
            probs: dict[str, torch.Tensor] = {}
            for _ in range(args.rounds):
                for v, step in steppers.items():
                    t0 = time.perf_counter()
                    for i, batch in enumerate(batches):
                        step(batch, i)
                    times[v].append((time.perf_counter() - t0) / len(batches))
                    precision, channels_last = VARIANTS[v]
                    ips, probs[v] = inference_variant(name, size, args.infer_batch, args.repeats,
                                                      precision != "32-true", channels_last)
                    infer[v].append(ips)
            base = args.variants[0]
            for v in args.variants:
                step_s = min(times[v]) + data_s
                ips = max(infer[v])
                base_step = min(times[base]) + data_s
                base_ips = max(infer[base])
                epoch = step_s * math.ceil(TRAIN_N / args.batch_size) + VAL_N / ips
                dprob = float((probs[v] - probs[base]).abs().max())
                agree = float((probs[v].argmax(1) == probs[base].argmax(1)).float().mean())
                row = {"model": name, "input_size": size, "variant": v, "train_seconds_per_batch": round(step_s, 3),
                       "train_step_seconds_rounds": [round(t, 3) for t in times[v]],
                       "seconds_per_epoch": round(epoch, 1), "train_speedup": round(base_step / step_s, 2),
                       "inference_images_per_s": round(ips, 1), "inference_rounds": [round(x, 1) for x in infer[v]],
                       "inference_speedup": round(ips / base_ips, 2), "max_dprob": round(dprob, 4),
                       "argmax_agreement": round(agree, 3)}
                results["rows"].append(row)
                print(f"{name:18s} {size:4d} {v:19s} {step_s:8.3f} {epoch / 60:9.1f} {row['train_speedup']:7.2f} "
                      f"{ips:11.0f} {row['inference_speedup']:7.2f} {dprob:9.4f} {agree:6.1%}", flush=True)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["vgg19", "resnet50", "efficientnet_b0"])
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--batches", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--infer-batch", type=int, default=256)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--compare", action="store_true", help="fp32 vs bf16 vs channels_last, side by side")
    ap.add_argument("--sizes", nargs="+", type=int, default=[64, 96])
    ap.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    ap.add_argument("--repeats", type=int, default=2, help="inference batches per round (--compare)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds per variant (--compare)")
    args = ap.parse_args()
    if args.compare:
        results = compare(args)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n")
        return
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
