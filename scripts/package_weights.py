"""Package a trained checkpoint into ``src/ferbench/models/weights/`` with float16 storage (half the bytes; the
model still runs in float32), after checking on real faces that the predictions do not change.

    .venv/bin/python scripts/package_weights.py runs/fernet_robust/model.safetensors fernet_robust \
        --data ../shared/data/fer2013-train-public.csv.gz

Prints the largest |softmax difference| and the argmax agreement between the float32 checkpoint and the packaged
float16 copy on the first ``--n`` PublicTest faces; refuses to write when any label changes beyond ``--max-flips``,
and never replaces an existing file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from ferbench.data import load_dataset
from ferbench.models.checkpoint import load_checkpoint, save_checkpoint
from ferbench.models.default_model import WEIGHTS_DIR
from ferbench.models.export import parity
from ferbench.models.factory import load_checkpoint_predictor


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("name", help="packaged model name: the file becomes WEIGHTS_DIR/NAME.safetensors")
    ap.add_argument("--data", required=True)
    ap.add_argument("--n", type=int, default=3589)
    ap.add_argument("--max-flips", type=int, default=2, help="labels allowed to change on the checked faces")
    args = ap.parse_args()
    dst = WEIGHTS_DIR / f"{args.name}.safetensors"
    if dst.exists() or dst.with_suffix(".json").exists():
        sys.exit(f"error: {dst} already exists: remove it first (this script never replaces a file)")
    config, state, _ = load_checkpoint(args.checkpoint)
    half = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    config.provenance["packaged_from"] = {"path": str(args.checkpoint), "storage": "float16, run in float32"}
    tmp = dst.with_name(f".{dst.name}.check.safetensors")
    save_checkpoint(half, config, tmp)
    faces = load_dataset(args.data, split="PublicTest", limit=args.n).images
    check = parity(load_checkpoint_predictor(args.checkpoint), load_checkpoint_predictor(tmp), faces)
    print(json.dumps(check))
    flips = round((1 - check["argmax_agreement"]) * check["n"])
    if flips > args.max_flips:
        tmp.unlink()
        tmp.with_suffix(".json").unlink()
        sys.exit(f"error: float16 storage changed {flips} labels (> --max-flips {args.max_flips}); not packaged")
    tmp.rename(dst)
    tmp.with_suffix(".json").rename(dst.with_suffix(".json"))
    print(f"packaged {dst} ({dst.stat().st_size / 2**20:.1f} MB)")


if __name__ == "__main__":
    torch.set_num_threads(2)
    main()
