"""Restoration speed on this CPU: seconds per image and images/s per restorer, and the 1 -> 2 worker speed-up.

    nice -n 10 .venv/bin/python benchmarks/restore_speed.py [--json FILE] [--models DIR]

Inputs are 48×48 gray synthetic faces (speed does not depend on the content); outputs at 48×48 (the default
``--size``), so every restorer pays its own native size and the final area resize. Slow restorers get few
images. GFPGAN, CodeFormer and RestoreFormer run at full size (512-px faces, official widths) with RANDOM
weights built from spandrel's architecture classes, saved and loaded through the same file path as real
weights: the official files are unreachable here, and the speed of a network does not depend on its weight
values. Real-ESRGAN runs on Vulkan; without a GPU that is Mesa's lavapipe on the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def faces(n: int) -> np.ndarray:
    from conftest import synthetic_faces

    return synthetic_faces(n)[0]


def full_size_weights(folder: Path) -> dict[str, Path]:
    """Random full-size GFPGAN v1.4 / CodeFormer / RestoreFormer weights, as the official files are laid out."""
    import torch
    from spandrel.architectures.GFPGAN import GFPGAN
    from spandrel.architectures.RestoreFormer import RestoreFormer
    from spandrel_extra_arches.architectures.CodeFormer import CodeFormer

    torch.manual_seed(0)
    nets = {"gfpgan": GFPGAN(out_size=512, num_style_feat=512, channel_multiplier=2, narrow=1, num_mlp=8,
                             different_w=True, input_is_latent=True, sft_half=True, fix_decoder=False),
            "codeformer": CodeFormer(), "restoreformer": RestoreFormer()}
    paths = {}
    for name, net in nets.items():
        paths[name] = folder / f"{name}_random_full.pth"
        torch.save(net.state_dict(), paths[name])
    return paths


def time_restorer(name: str, params: dict, n: int) -> dict:
    from ferbench.restore import RestorerUnavailable, create_restorer

    t0 = time.perf_counter()
    try:
        r = create_restorer(name, **params)
    except RestorerUnavailable as exc:
        return {"skipped": str(exc)}
    load_s = time.perf_counter() - t0
    images = faces(n)
    r(images[:1])  # warm-up: lazy initialisation, first-call allocations
    t0 = time.perf_counter()
    out = r(images)
    wall = time.perf_counter() - t0
    assert len(out) == n
    return {"images": n, "load_s": round(load_s, 3), "wall_s": round(wall, 3), "s_per_image": round(wall / n, 5),
            "images_per_s": round(n / wall, 2)}


def worker_speedup(name: str, params: dict, n: int, shard_size: int) -> dict:
    """End to end through restore_dataset (process start-up and model loading included), 1 vs 2 workers."""
    from ferbench.data import Dataset
    from ferbench.restore import restore_dataset

    images = faces(n)
    ds = Dataset(images=images, labels=np.zeros(n, np.int64), splits=np.array(["Training"] * n),
                 ids=np.array([str(i) for i in range(n)]), source="benchmark", source_hash="0" * 64)
    out = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            result = restore_dataset(ds, name, params, out_dir=tmp, workers=workers, shard_size=shard_size)
            wall = time.perf_counter() - t0
        out[f"workers_{workers}"] = {"wall_s": round(wall, 2), "images_per_s": round(n / wall, 2),
                                     "worker_s_per_image": result.report["restore_cost"]["s_per_image"]}
    out["speedup"] = round(out["workers_1"]["wall_s"] / out["workers_2"]["wall_s"], 2)
    return {"restorer": name, "params": {k: str(v) for k, v in params.items()}, "images": n,
            "shard_size": shard_size, **out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    parser.add_argument("--models", type=Path, default=ROOT.parent / "shared" / "models",
                        help="Folder with the OpenCV SR .pb files (default: ../shared/models).")
    args = parser.parse_args()

    from ferbench.cost import machine_info

    started = time.perf_counter()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        heavy = full_size_weights(Path(tmp))
        plan = [("identity", {}, 2000), ("resize bicubic -> 224", {"method": "bicubic"}, 2000),
                ("resize lanczos -> 224", {"method": "lanczos"}, 2000), ("clahe", {}, 2000), ("histeq", {}, 2000)]
        sr = {"ESPCN_x4.pb": 200, "FSRCNN_x4.pb": 200, "FSRCNN-small_x4.pb": 200, "LapSRN_x4.pb": 20, "LapSRN_x8.pb": 8}
        for file, n in sr.items():
            if (args.models / file).exists():
                plan.append((f"opencv_sr {file}", {"weights": str(args.models / file)}, n))
        plan += [("realesrgan x4plus", {"model": "x4plus"}, 1),
                 ("realesrgan animevideov3-x4", {"model": "animevideov3-x4"}, 4),
                 ("gfpgan (v1.4 architecture, random weights)", {"weights": str(heavy["gfpgan"])}, 2),
                 ("codeformer (random weights)", {"weights": str(heavy["codeformer"])}, 1),
                 ("restoreformer (random weights)", {"weights": str(heavy["restoreformer"])}, 1)]
        for label, params, n in plan:
            name = label.split()[0]
            size_note = {"resize": 224}.get(name)
            if size_note:  # resize is only interesting when it resizes
                from ferbench.restore import create_restorer

                r = create_restorer(name, **params)
                images = faces(n)
                r(images[:1], size=224)
                t0 = time.perf_counter()
                r(images, size=224)
                wall = time.perf_counter() - t0
                res = {"images": n, "wall_s": round(wall, 3), "s_per_image": round(wall / n, 6),
                       "images_per_s": round(n / wall, 1)}
            else:
                res = time_restorer(name, params, n)
            results[label] = res
            print(f"{label:45s} {json.dumps(res)}", flush=True)
        speed = [worker_speedup("opencv_sr", {"weights": str(args.models / "LapSRN_x4.pb")}, 400, 50)
                 if (args.models / "LapSRN_x4.pb").exists() else None,
                 worker_speedup("gfpgan", {"weights": str(heavy["gfpgan"])}, 8, 2)]
        for s in speed:
            if s:
                print(f"workers {s['restorer']}: {json.dumps(s)}", flush=True)
    report = {"restorers": results, "workers": [s for s in speed if s], "machine": machine_info(),
              "load_average": os.getloadavg(), "total_s": round(time.perf_counter() - started, 1)}
    print(f"total {report['total_s']} s, load average {report['load_average']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
