"""Parity of the Keras imports: torch conversion vs an independent NumPy forward pass, on real faces.

For each face_classification HDF5 file in ../shared/models, converts it (as ``--weights FILE.hdf5`` does)
and, when the package ships a converted copy, loads that too; runs both and the float64 NumPy reference
(:mod:`ferbench.models.keras.reference`) on the first N PublicTest faces of the shared FER-2013 file, and
reports the largest absolute softmax difference and the argmax agreement.

    nice -n 10 python benchmarks/keras_parity.py [--n 256] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=256, help="PublicTest faces (default 256)")
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "fer2013-train-public.csv.gz")
    parser.add_argument("--models", type=Path, default=SHARED / "models", help="folder with the .hdf5 files")
    parser.add_argument("--tolerance", type=float, default=1e-5)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()

    import torch

    from ferbench.data import load_dataset
    from ferbench.models.factory import load_checkpoint_predictor
    from ferbench.models.keras.convert import import_keras
    from ferbench.models.keras.reference import predict_proba
    from ferbench.models.keras.sources import KNOWN, PRETRAINED_DIR
    from ferbench.models.torch_predictor import TorchPredictor

    torch.set_num_threads(1)  # a 2-core machine shared with others
    faces = load_dataset(args.data, split="PublicTest", limit=args.n).images
    rows = []
    for known in KNOWN:
        path = args.models / known.file
        if not path.exists():
            print(f"{known.name}: {path} absent, skipped")
            continue
        module, config, kf = import_keras(path, expect=known.name)
        t0 = time.perf_counter()
        ref = predict_proba(kf, faces)
        t_ref = time.perf_counter() - t0
        candidates = {"hdf5": TorchPredictor(module, config, device="cpu")}
        packaged = PRETRAINED_DIR / f"{known.name}.safetensors"
        if packaged.exists():
            candidates["packaged"] = load_checkpoint_predictor(packaged, expect_arch=known.name, device="cpu")
        for source, predictor in candidates.items():
            t0 = time.perf_counter()
            got = predictor.predict(faces).proba.astype(np.float64)
            rows.append({"model": known.name, "weights": source, "n": len(faces),
                         "max_abs_softmax_diff": float(np.abs(got - ref).max()),
                         "argmax_agreement": float((got.argmax(1) == ref.argmax(1)).mean()),
                         "torch_s": round(time.perf_counter() - t0, 2), "numpy_reference_s": round(t_ref, 2)})
    print(f"{'model':<18}{'weights':<10}{'n':>5}{'max|Δsoftmax|':>16}{'argmax agree':>14}{'torch s':>9}{'numpy s':>9}")
    for r in rows:
        print(f"{r['model']:<18}{r['weights']:<10}{r['n']:>5}{r['max_abs_softmax_diff']:>16.2e}"
              f"{r['argmax_agreement']:>14.2%}{r['torch_s']:>9.2f}{r['numpy_reference_s']:>9.2f}")
    if args.json:
        args.json.write_text(json.dumps({"n": args.n, "tolerance": args.tolerance, "results": rows}, indent=2) + "\n")
    ok = bool(rows) and all(r["max_abs_softmax_diff"] <= args.tolerance for r in rows)
    print("parity OK" if ok else f"parity FAILED (tolerance {args.tolerance:g})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
