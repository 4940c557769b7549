"""Face detectors for ``ferbench predict`` side by side: OpenCV's Haar cascade vs MTCNN (facenet-pytorch).

Photos at hand, with known face boxes: scikit-image's LFW subset (100 face crops, 25 px, and 100 non-face
patches) and FER-2013 PublicTest faces, each enlarged ×4 and pasted at a random place into a 320×240 noisy
gray scene; the FER faces also turned by 25° (in-plane, as a tilted head), which frontal cascades miss; plus
scikit-image's astronaut photo (one face). A face counts as found when a box's centre lies inside its true box
and the box side is within 0.5–2× the true one; other boxes are false positives. Images/s over all scenes.

    pip install scikit-image   # only for this benchmark (its data images)
    flock /tmp/ferbench-cpu.lock .venv/bin/python benchmarks/detectors.py --data ../shared/data/fer2013-train-public.csv.gz
"""

from __future__ import annotations

import argparse
import json
import time

import cv2
import numpy as np


def _scene(face: np.ndarray, rng: np.random.Generator, angle: float = 0.0) -> tuple[np.ndarray, tuple]:
    side = face.shape[0] * 4
    big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    canvas = rng.integers(60, 200, (240, 320), dtype=np.uint8)
    canvas = cv2.GaussianBlur(canvas, (0, 0), 3)
    x, y = int(rng.integers(10, 320 - side - 10)), int(rng.integers(10, 240 - side - 10))
    if angle:
        m = cv2.getRotationMatrix2D((side / 2, side / 2), angle, 1.0)
        turned = cv2.warpAffine(big, m, (side, side), borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        mask = cv2.warpAffine(np.full_like(big, 255), m, (side, side)) > 0
        region = canvas[y:y + side, x:x + side]
        region[mask] = turned[mask]
    else:
        canvas[y:y + side, x:x + side] = big
    return canvas, (x, y, side, side)


def _found(boxes, truth) -> tuple[bool, int]:
    tx, ty, tw, th = truth
    hits = [b for b in boxes if tx <= b[0] + b[2] / 2 <= tx + tw and ty <= b[1] + b[3] / 2 <= ty + th
            and 0.5 <= b[2] / tw <= 2]
    return bool(hits), len(boxes) - min(1, len(hits))


def main() -> None:
    from skimage import data as skdata

    from ferbench.data import load_dataset
    from ferbench.predict.detectors import DETECTORS

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/fer2013-train-public.csv.gz")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--json")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    lfw = (skdata.lfw_subset() * 255).astype(np.uint8)
    fer = load_dataset(args.data, split="PublicTest").images[:args.n]
    sets = {"lfw_faces": [_scene(f, rng) for f in lfw[:args.n]],
            "fer_upright": [_scene(f, rng) for f in fer],
            "fer_turned_25deg": [_scene(f, rng, 25.0) for f in fer],
            "lfw_non_faces": [(_scene(f, rng)[0], None) for f in lfw[100:100 + args.n]]}
    astronaut = skdata.astronaut()
    results = {}
    for name, detect in DETECTORS.items():
        detect(np.zeros((240, 320), np.uint8), np.zeros((240, 320, 3), np.uint8), 24)  # warm-up, weights
        row, n_images, elapsed = {}, 0, 0.0
        for set_name, scenes in sets.items():
            found = fp = 0
            for gray, truth in scenes:
                rgb = np.repeat(gray[..., None], 3, axis=2)
                start = time.perf_counter()
                boxes = [b for b, _ in detect(gray, rgb, 24)]
                elapsed += time.perf_counter() - start
                n_images += 1
                if truth is None:
                    fp += len(boxes)
                else:
                    hit, extra = _found(boxes, truth)
                    found += hit
                    fp += extra
            row[set_name] = {"found": found, "of": len(scenes) if set_name != "lfw_non_faces" else 0,
                             "false_positives": fp}
        row["astronaut_boxes"] = len(detect(cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY), astronaut, 24))
        row["images_per_s"] = n_images / elapsed
        results[name] = row
    for name, row in results.items():
        parts = [f"{k} {v['found']}/{v['of']} (fp {v['false_positives']})" if isinstance(v, dict) and v["of"]
                 else f"{k} fp {v['false_positives']}" for k, v in row.items() if isinstance(v, dict)]
        print(f"{name}: " + "; ".join(parts) + f"; astronaut: {row['astronaut_boxes']} box(es); "
              f"{row['images_per_s']:.1f} images/s (320×240)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
