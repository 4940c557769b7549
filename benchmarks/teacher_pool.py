"""Can a stronger distillation teacher be assembled from the packaged models? PublicTest accuracy of every
equal-weight mean of their probabilities (each model with flip TTA, as ``ferbench teacher-targets --tta flip``
runs the teacher), against the teacher ``fernet_kd`` and ``fernet_kd2`` were distilled from.

    python benchmarks/teacher_pool.py [--threads 2] [--json out.json]

The best subset is chosen on PublicTest itself, so its figure is optimistic: it bounds what re-weighting the
packaged models could give a teacher, it is not a held-out score.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "fer2013-train-public.csv.gz"

# (name, registered model, packaged weights file or None for the model's own); the first five are the members
# of fernet_ensemble, the teacher of fernet_kd and fernet_kd2
POOL = (("fernet", "fernet", None), ("fernet_restart", "fernet", "fernet_restart.safetensors"),
        ("fernet_restart2", "fernet", "fernet_restart2.safetensors"), ("big_xception", "big_xception", None),
        ("mini_xception_64", "mini_xception_64", None), ("fernet_kd", "fernet_kd", None),
        ("fernet_kd2", "fernet_kd2", None), ("fernet_robust2", "fernet_robust2", None))
TEACHER = [name for name, _, _ in POOL[:5]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from ferbench.data import load_dataset
    from ferbench.metrics import compute_metrics
    from ferbench.models import load_predictor
    from ferbench.models.default_model import WEIGHTS_DIR

    ds = load_dataset(DATA, split="PublicTest")
    proba = {}

    def labels_of(members) -> np.ndarray:
        return np.mean([proba[m] for m in members], 0).argmax(1)

    def score(members) -> float:
        return float(np.mean(labels_of(members) == ds.labels))

    for name, model, weights in POOL:
        pred = load_predictor(model, WEIGHTS_DIR / weights if weights else None, tta="flip")
        proba[name] = np.concatenate([pred.predict(ds.images[i:i + 256]).proba for i in range(0, len(ds), 256)])
        print(f"{name:18s} {score([name]):.2%}", flush=True)

    subsets = [list(c) for r in range(1, len(POOL) + 1) for c in itertools.combinations(proba, r)]
    best = max(subsets, key=score)
    rows = {}
    for label, members in (("teacher (fernet_ensemble's members)", TEACHER), ("all eight", list(proba)),
                           ("best subset (chosen on PublicTest)", best)):
        m = compute_metrics(ds.labels, labels_of(members), n_boot=1000)
        rows[label] = {"members": members, "accuracy": m["accuracy"], "accuracy_ci": m["accuracy_ci"]}
        print(f"{label}: {m['accuracy']:.2%} [{m['accuracy_ci'][0]:.2%}, {m['accuracy_ci'][1]:.2%}]  "
              f"{' + '.join(members)}")
    print(f"best subset over the teacher: {100 * (score(best) - score(TEACHER)):+.2f} points, "
          f"{len(subsets)} subsets tried")
    if args.json:
        args.json.write_text(json.dumps({"n": len(ds), "tta": "flip", "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
