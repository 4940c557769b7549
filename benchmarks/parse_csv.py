"""Time the FER-2013 CSV reader: cold (no ferbench cache) and from its cache, in fresh processes.

A full Kaggle file has 35,887 rows; the shared file has 32,298 (PrivateTest withheld), so this script
builds a 35,887-row file by appending the 3,589 PublicTest rows again as ``PrivateTest`` (same size and
format as the real file; the pixels don't matter for timing). It times both the plain ``.csv`` (how
Kaggle ships it) and the ``.csv.gz``.

    python benchmarks/parse_csv.py [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "fer2013-train-public.csv.gz"

TIMER = """
import time, sys
t = time.perf_counter()
from ferbench.data import load_dataset
t_import = time.perf_counter()
ds = load_dataset(sys.argv[1])
t_end = time.perf_counter()
assert len(ds) == 35887, len(ds)
print(t_end - t_import, t_import - t)
"""


def build(tmp: Path) -> tuple[Path, Path]:
    lines = gzip.decompress(SHARED.read_bytes()).decode().splitlines()
    public = [line.replace(",PublicTest", ",PrivateTest") for line in lines[1:] if line.endswith(",PublicTest")]
    text = "\n".join(lines + public) + "\n"
    plain, gz = tmp / "fer2013.csv", tmp / "fer2013.csv.gz"
    plain.write_text(text)
    gz.write_bytes(gzip.compress(text.encode(), compresslevel=6))
    return plain, gz


def run(path: Path, cache: Path, clear: bool) -> tuple[float, float]:
    if clear:
        subprocess.run(["rm", "-rf", str(cache)], check=True)
    out = subprocess.run([sys.executable, "-c", TIMER, str(path)], capture_output=True, text=True, check=True,
                         env={"FERBENCH_CACHE": str(cache), "PATH": "/usr/bin:/bin"})
    parse, imp = map(float, out.stdout.split())
    return parse, imp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for path in build(tmp):
            cache = tmp / "cache"
            run(path, cache, clear=True)  # warm the OS page cache for the source file
            cold = [run(path, cache, clear=True)[0] for _ in range(args.repeats)]
            warm = [run(path, cache, clear=False)[0] for _ in range(args.repeats)]
            results[path.name] = {
                "bytes": path.stat().st_size, "rows": 35887,
                "cold_s": {"median": statistics.median(cold), "min": min(cold), "max": max(cold)},
                "cached_s": {"median": statistics.median(warm), "min": min(warm), "max": max(warm)},
            }
            print(f"{path.name:16s} cold {statistics.median(cold):.2f} s (min {min(cold):.2f}, max {max(cold):.2f})"
                  f"   cached {statistics.median(warm):.3f} s (min {min(warm):.3f}, max {max(warm):.3f})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
