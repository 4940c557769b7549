"""ferbench's own packaged models (FERNet alone and with flip TTA, the default ``fernet_kd2``, the robust FERNet,
the trio, the ensemble) against the imported mini-Xception, in the same run: PublicTest accuracy, throughput
(images/s at batch 256) and batch-1 latency, and their ratios.

    python benchmarks/fernet_vs_baseline.py [--threads 2] [--rows fernet fernet_kd2 ...] [--json out.json]

Rows ending in ``@ENGINE`` run the same model through another inference engine (``--backend ENGINE``), exported in
memory. The ensemble (~5 faces/s: 12 min for its accuracy alone) runs only when named in ``--rows``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "fer2013-train-public.csv.gz"


# (row, registered model, TTA or None for the model's own default); "@ENGINE" in a row names its backend
MODELS = (("fernet", "fernet", None), ("fernet+flip", "fernet", "flip"), ("fernet_robust", "fernet_robust", None),
          ("fernet_kd2", "fernet_kd2", None), ("fernet_kd2+flip", "fernet_kd2", "flip"),
          ("fernet_kd2@onnxruntime", "fernet_kd2", None), ("fernet_kd2@openvino", "fernet_kd2", None),
          ("fernet_trio", "fernet_trio", None), ("fernet_ensemble", "fernet_ensemble", None),
          ("mini_xception_64", "mini_xception_64", None))
DEFAULT_ROWS = [key for key, _, _ in MODELS if key != "fernet_ensemble" and "@" not in key]


def throughput(pred, images: np.ndarray, batch: int = 256, seconds: float = 20.0) -> float:
    """Images/s over whole batches of 256, for at least ``seconds`` (the ensemble runs ~10 images/s)."""
    pred.predict(images[:batch])
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        lo = done % len(images)
        pred.predict(images[lo:lo + batch])
        done += len(images[lo:lo + batch])
    return done / (time.perf_counter() - t0)


def latency_ms(pred, images: np.ndarray, n: int = 100) -> float:
    for i in range(10):
        pred.predict(images[i:i + 1])
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        pred.predict(images[i % len(images):i % len(images) + 1])
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--rows", nargs="+", default=DEFAULT_ROWS, choices=[key for key, _, _ in MODELS],
                    help="rows to measure (mini_xception_64, the baseline, is always measured)")
    args = ap.parse_args()
    chosen = [m for m in MODELS if m[0] in args.rows or m[0] == "mini_xception_64"]
    torch.set_num_threads(args.threads)
    from ferbench.data import load_dataset
    from ferbench.metrics import compute_metrics
    from ferbench.models import load_predictor

    ds = load_dataset(DATA, split="PublicTest")
    rows = {}
    for key, name, tta in chosen:
        backend = key.partition("@")[2] or "torch"
        pred = load_predictor(name, None, backend, **({"tta": tta} if tta else {}),
                              **({"threads": args.threads} if backend != "torch" else {}))
        p = np.concatenate([pred.predict(ds.images[lo:lo + 256]).pred for lo in range(0, len(ds), 256)])
        m = compute_metrics(ds.labels, p, n_boot=1000)
        rows[key] = {"accuracy": m["accuracy"], "accuracy_ci": m["accuracy_ci"], "f1_macro": m["f1_macro"],
                     "f1_macro_ci": m["f1_macro_ci"], "images_per_s": throughput(pred, ds.images[:1024]),
                     "latency_ms_batch1": latency_ms(pred, ds.images), **pred.cost_info()}
        r = rows[key]
        print(f"{key:20s} acc {r['accuracy']:.2%} [{r['accuracy_ci'][0]:.2%}, {r['accuracy_ci'][1]:.2%}]  "
              f"f1_macro {r['f1_macro']:.2%}  {r['images_per_s']:.0f} img/s  {r['latency_ms_batch1']:.2f} ms (batch 1)  "
              f"{r['flops_per_image'] / 1e6:.0f} MFLOPs  {r['params']:,} params", flush=True)
    base = rows["mini_xception_64"]
    for key in [k for k, _, _ in chosen if k != "mini_xception_64"]:
        r = rows[key]
        r["vs_mini_xception"] = {"accuracy_points": 100 * (r["accuracy"] - base["accuracy"]),
                                 "throughput_ratio": r["images_per_s"] / base["images_per_s"],
                                 "latency_ratio": r["latency_ms_batch1"] / base["latency_ms_batch1"]}
        v = r["vs_mini_xception"]
        print(f"{key} vs mini_xception_64: {v['accuracy_points']:+.1f} accuracy points, "
              f"{v['throughput_ratio']:.2f}x its images/s, {v['latency_ratio']:.2f}x its batch-1 latency")
    if args.json:
        args.json.write_text(json.dumps({"threads": args.threads, "n": len(ds), "models": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
