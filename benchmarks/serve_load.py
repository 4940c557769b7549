"""Load test of ``ferbench serve`` on 127.0.0.1: requests/s and p50/p95 latency, sequential vs concurrent.

Starts the real command (``python -m ferbench serve``) on a free loopback port, sends a fixed number of
``POST /predict`` requests one after another (single requests), then from 8 and 32 concurrent clients, reads
the server's batching counters (faces per forward pass) from ``/healthz``, and stops the server. With
``--no-batching-too`` it repeats everything against a second server started with ``--max-batch 1`` so the
effect of batching is measured side by side in one run. Bounded: a fixed request count per scenario and a
wall-clock cap (``--max-seconds``); it only ever talks to 127.0.0.1.

    flock /tmp/ferbench-cpu.lock python benchmarks/serve_load.py --model fernet --image crop --requests 400
    flock /tmp/ferbench-cpu.lock python benchmarks/serve_load.py --image photo --requests 64   # default model

The clients run on the same machine as the server and take CPU from it: the figures are for this whole
setup, not the server alone. Compare the rows of one run as ratios; absolute figures move with machine load.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

HOST = "127.0.0.1"  # never anything else: this script loads only this machine
ROOT = Path(__file__).resolve().parents[1]


def payload(kind: str) -> tuple[str, bytes, str]:
    """(file name, bytes, content type): 'photo' is a 512×600 portrait with one face (the detector runs);
    'crop' is a 48-px face crop (a real FER-2013 face when ../shared is present), classified whole."""
    if kind == "photo":
        from matplotlib import cbook

        path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        return "photo.jpg", Path(path).read_bytes(), "image/jpeg"
    from PIL import Image

    shared = ROOT.parent / "shared" / "data" / "fer2013-train-public.csv.gz"
    if shared.exists():
        import csv
        import gzip

        with gzip.open(shared, "rt") as f:
            row = next(csv.DictReader(f))
        face = np.array(row["pixels"].split(), dtype=np.uint8).reshape(48, 48)
    else:
        face = np.random.default_rng(0).integers(0, 255, (48, 48), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(face).save(buf, format="PNG")
    return "crop.png", buf.getvalue(), "image/png"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(model: str | None, extra: list[str], log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    cmd = [sys.executable, "-m", "ferbench", "serve", "--host", HOST, "--port", str(port), "--log-level", "warning",
           *(["--model", model] if model else []), *extra]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)
    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"the server did not start: {' '.join(cmd)}\n{log.read_text()[-2000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


async def scenario(url: str, clients: int, n: int, body: tuple[str, bytes, str], stop_at: float) -> dict:
    """``n`` requests in all, from ``clients`` concurrent clients each sending its share one after another."""
    name, data, ctype = body
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    shares = [n // clients + (k < n % clients) for k in range(clients)]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        before = (await client.get("/healthz")).json()

        async def one_client(count: int) -> None:
            for _ in range(count):
                if time.monotonic() > stop_at:
                    return
                t0 = time.perf_counter()
                r = await client.post("/predict", files={"file": (name, data, ctype)})
                latencies.append(time.perf_counter() - t0)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        start = time.perf_counter()
        await asyncio.gather(*(one_client(c) for c in shares))
        wall = time.perf_counter() - start
        after = (await client.get("/healthz")).json()
    lat = np.array(latencies) * 1000
    batches = after["batches"] - before["batches"]
    p50, p95 = (round(float(np.percentile(lat, q)), 1) for q in (50, 95)) if len(lat) else (None, None)
    return {"clients": clients, "requests": len(latencies), "ok": statuses.get(200, 0), "statuses": statuses,
            "wall_s": round(wall, 3), "requests_per_s": round(len(latencies) / wall, 2),
            "p50_ms": p50, "p95_ms": p95,
            "faces_per_forward": round((after["faces"] - before["faces"]) / batches, 2) if batches else None,
            "complete": len(latencies) == n}


def run_server_scenarios(args, label: str, extra: list[str], body, stop_at: float, tmp: Path) -> list[dict]:
    proc, url = start_server(args.model, extra, tmp / f"server-{label}.log")
    try:
        for _ in range(args.warmup):
            httpx.post(url + "/predict", files={"file": body}, timeout=120).raise_for_status()
        rows = []
        for clients in [1, *args.clients]:
            if time.monotonic() > stop_at:
                print(f"{label}: --max-seconds reached, {clients} client(s) not measured", flush=True)
                break
            row = asyncio.run(scenario(url, clients, args.requests, body, stop_at))
            row["server"] = label
            rows.append(row)
            print(f"{label:<12} {clients:>3} client(s): {row['requests_per_s']:>8.2f} req/s  p50 {row['p50_ms']} ms"
                  f"  p95 {row['p95_ms']} ms  faces/forward {row['faces_per_forward']}  "
                  f"({row['ok']}/{row['requests']} ok{'' if row['complete'] else ', cut by --max-seconds'})",
                  flush=True)
        return rows
    finally:
        stop_server(proc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="model to serve (default: the packaged default, fernet_ensemble)")
    ap.add_argument("--image", choices=("photo", "crop"), default="photo")
    ap.add_argument("--requests", type=int, default=200, help="requests per scenario (same for every client count)")
    ap.add_argument("--clients", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--no-batching-too", action="store_true", help="also measure a server with --max-batch 1")
    ap.add_argument("--max-seconds", type=float, default=540, help="stop sending after this long in all")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()

    body = payload(args.image)
    stop_at = time.monotonic() + args.max_seconds
    print(f"model {args.model or 'default (fernet_ensemble)'}, image {args.image} ({len(body[1]):,} bytes), "
          f"{args.requests} requests per scenario, {os.cpu_count()} CPUs", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += run_server_scenarios(args, "batching", [], body, stop_at, Path(tmp))
        if args.no_batching_too:
            rows += run_server_scenarios(args, "max-batch-1", ["--max-batch", "1", "--max-wait-ms", "0"], body,
                                         stop_at, Path(tmp))
    base = {r["server"]: r for r in rows if r["clients"] == 1}
    for r in rows:
        if r["server"] in base:
            r["speedup_vs_sequential"] = round(r["requests_per_s"] / base[r["server"]]["requests_per_s"], 2)
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "image": args.image, "requests": args.requests,
                                         "machine": platform.platform(), "cpus": os.cpu_count(),
                                         "rows": rows}, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
