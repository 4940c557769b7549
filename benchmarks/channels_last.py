"""float32 inference of packaged models in channels_last memory format against the default (contiguous) one.

Side by side in one run, rounds interleaved (this CPU's speed drifts): preprocessing + forward through
``TorchPredictor``'s own path at batch ``--batch`` on random faces, best of ``--repeats`` per round; ``max_dprob``
is the largest softmax difference between the two formats (a numerical check).

    flock /tmp/ferbench-cpu.lock python benchmarks/channels_last.py --models fernet_kd2 big_xception mini_xception_64
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from ferbench.models.factory import load_predictor
from ferbench.models.preprocess import to_tensor
from ferbench.models.torch_predictor import probabilities


def images_per_s(predictor, images: np.ndarray, fmt: torch.memory_format, repeats: int) -> tuple[float, np.ndarray]:
    predictor.module.to(memory_format=fmt)
    best, proba = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        with torch.inference_mode():
            x = to_tensor(images, predictor.config.preprocess).contiguous(memory_format=fmt)
            proba = probabilities(predictor.module, x, predictor.tta).numpy()
        best = min(best, time.perf_counter() - start)
    return len(images) / best, proba


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["fernet_kd2", "big_xception", "mini_xception_64"])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    images = np.random.default_rng(0).integers(0, 256, (args.batch, 48, 48), dtype=np.uint8)
    rows = []
    for name in args.models:
        predictor = load_predictor(name, None)
        speeds: dict[str, list[float]] = {"contiguous": [], "channels_last": []}
        for _ in range(args.rounds):
            contiguous, p_cont = images_per_s(predictor, images, torch.contiguous_format, args.repeats)
            last, p_last = images_per_s(predictor, images, torch.channels_last, args.repeats)
            speeds["contiguous"].append(contiguous)
            speeds["channels_last"].append(last)
        row = {"model": name, **{k: round(max(v), 1) for k, v in speeds.items()},
               "speedup": round(max(speeds["channels_last"]) / max(speeds["contiguous"]), 2),
               "max_dprob": float(np.abs(p_cont - p_last).max())}
        rows.append(row)
        print(json.dumps(row))


if __name__ == "__main__":
    main()
