"""Run a stage (a restorer or a degradation) over a dataset: content-addressed, sharded, resumable, parallel.

The cache key hashes the dataset fingerprint, the stage description (restorer name, every parameter, the
weights' SHA-256, the versions of the libraries that compute it, output size and channels; or degradation,
severity and seed) and the shard size. Without ``out_dir`` the job lives in ``$FERBENCH_CACHE/<kind>/<key>``,
so asking twice for the same thing computes it once. See :mod:`ferbench.stages.store` for the on-disk
guarantees and :mod:`ferbench.stages.executors` for where shards run. ``restore_dataset`` and
``degrade_dataset`` (in ``ferbench.restore`` and ``ferbench.degrade``) are the entry points.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..data.dataset import Dataset
from ..utils.io import cache_dir, sha256_json, to_json
from .executors import EXECUTORS, run_in_pool, run_in_process, run_on_ray
from .spec import ShardWorker, StageSpec, stage_module
from .store import FORMAT, ShardStore

SHARD_SIZE = 512
SHARD_BYTES = 256 * 2**20  # cap on one shard's images, so 512-px outputs do not make 400 MB shards


def shard_cap(shard_size: int, hw: tuple[int, int], channels: int) -> int:
    """``shard_size`` capped so that one shard's output stays under SHARD_BYTES."""
    return max(1, min(shard_size, SHARD_BYTES // (hw[0] * hw[1] * channels)))


def stage_key(ds: Dataset, description: dict[str, Any]) -> str:
    """The cache key: what is computed from what (the shard layout is not part of it: it changes no byte)."""
    return sha256_json({"format": FORMAT, "dataset": ds.fingerprint, "stage": description})


def derive(ds: Dataset, images: np.ndarray, spec: StageSpec, description: dict[str, Any], key: str) -> Dataset:
    """``ds`` with new images and the stage recorded in its options (so its fingerprint changes)."""
    record = {"name": spec.name, "key": key, **stage_module(spec.kind).record(spec, description)}
    # JSON round trip: a job read back from disk must give the same fingerprint as the one computed in memory
    options = json.loads(to_json({**ds.options, spec.kind: record}))
    return replace(ds, images=images, name=f"{ds.name}+{spec.name}", options=options)


def run_stage(ds: Dataset, spec: StageSpec, out_dir: str | Path | None = None, workers: int = 1,
              executor: str = "local", shard_size: int = SHARD_SIZE, progress: bool = False,
              prebuilt: Any = None) -> Dataset:
    """Run (or resume, or read from cache) ``spec`` over ``ds`` and return the derived Dataset. ``prebuilt``:
    the stage's object already built by the caller (a Restorer), used when the shards run in this process."""
    from ..cost import PhaseMeter, machine_info
    from ..utils.provenance import now

    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r} ({', '.join(EXECUTORS)})")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, not {workers}")
    local = ShardWorker(spec, prebuilt=prebuilt) if (executor == "local" and workers == 1) or prebuilt else None
    description = local.description if local else ShardWorker(spec).description
    key = stage_key(ds, description)
    store = ShardStore(out_dir or cache_dir(spec.kind, key[:32]))
    with store.lock():
        job = store.read_job()
        if job is not None and job.get("key") != key:
            raise ValueError(f"{store.path} holds another job (key {job.get('key', '?')[:12]}, this one {key[:12]}): "
                             f"use another --out")
        store.clean_partial()
        shard_size = job["shard_size"] if job else shard_size  # a resumed job keeps its layout
        plan = [(i, lo, min(lo + shard_size, len(ds))) for i, lo in enumerate(range(0, len(ds), shard_size))]
        if job is None:
            job = {"ferbench_job": FORMAT, "key": key, "kind": spec.kind, "stage": spec.to_json(),
                   "description": description, "shard_size": shard_size, "shards": len(plan), "n": len(ds),
                   "dataset": {"name": ds.name, "source": ds.source, "source_sha256": ds.source_hash,
                               "fingerprint": ds.fingerprint, "options": ds.options, "classes": list(ds.classes)},
                   "created": now(), "runs": []}
            meta = {"ids": ds.ids, "labels": ds.labels, "splits": ds.splits}
            if ds.soft_labels is not None:
                meta["soft_labels"] = ds.soft_labels
            store.write_meta(**meta)
        done = store.finished()
        todo = [p for p in plan if p[0] not in done]
        this_run: dict[str, Any] = {"shards_computed": len(todo), "shards_reused": len(plan) - len(todo), "cost": None}
        if todo or job.get("status") != "complete":
            job.update(status="running")
            store.write_job(job)
            computed, started = sum(hi - lo for _, lo, hi in todo), now()
            with PhaseMeter(spec.kind, items=computed, workers=workers, executor=executor) as meter:
                _execute(store, ds, spec, description, todo, workers, executor, local, progress, len(ds) - computed)
            this_run["cost"] = meter.result
            job["runs"].append({"started": started, **this_run})
            job.update(status="complete", cost=_total_cost(store), machine=machine_info())
            store.write_job(job)
    result = load_job(store.path)
    return replace(result, report={**result.report, "this_run": this_run})


def _execute(store: ShardStore, ds: Dataset, spec: StageSpec, description: dict[str, Any], todo: list,
             workers: int, executor: str, local: ShardWorker | None, show: bool, already: int) -> None:
    from ..utils.progress import progress_bar
    from ..utils.provenance import now

    bounds = {i: (lo, hi) for i, lo, hi in todo}
    jobs = ((i, ds.images[lo:hi]) for i, lo, hi in todo)
    with progress_bar() if show else contextlib.nullcontext() as bar:
        task = bar.add_task(f"{spec.kind} {spec.name}", total=len(ds), completed=already, rate="") if bar else None
        t0, count = time.perf_counter(), 0

        def advance(n: int) -> None:
            nonlocal count
            count += n
            if bar is not None:
                bar.update(task, advance=n, rate=f"{count / max(time.perf_counter() - t0, 1e-9):.1f} img/s")

        per_batch = executor == "local" and workers == 1
        if executor == "ray":
            results = run_on_ray(spec, description, jobs, workers)
        elif workers > 1:
            results = run_in_pool(spec, description, jobs, workers)
        else:
            results = run_in_process(local, jobs, advance)
        for index, images, cost in results:
            lo, hi = bounds[index]
            store.write_shard(index, images, ds.ids[lo:hi], start=lo, cost=cost, finished=now())
            if not per_batch:
                advance(hi - lo)


def _total_cost(store: ShardStore) -> dict[str, Any]:
    """Per-image cost over every shard, whichever run computed it (worker time, not the driver's)."""
    shards = store.manifest()["shards"].values()
    n = sum(s["n"] for s in shards)
    wall = sum(s["cost"]["wall_s"] for s in shards)
    cpu = sum(s["cost"]["cpu_s"] for s in shards)
    return {"images": n, "worker_wall_s": round(wall, 3), "worker_cpu_s": round(cpu, 3),
            "s_per_image": round(wall / n, 6) if n else None, "cpu_s_per_image": round(cpu / n, 6) if n else None,
            "peak_rss_mb": max((s["cost"]["peak_rss_mb"] for s in shards), default=None)}


def load_job(path: str | Path) -> Dataset:
    """The Dataset a finished job directory holds (every shard verified against the manifest)."""
    store = ShardStore(path)
    job = store.read_job()
    if job is None:
        raise FileNotFoundError(f"{path}: no {store.path.name}/job.json: not a ferbench restore/degrade job")
    done = store.finished()
    missing = [i for i in range(job["shards"]) if i not in done]
    if missing:
        raise ValueError(f"{path}: {len(missing)} of {job['shards']} shards missing or corrupt "
                         f"(first: {missing[0]}); run the same command again to finish it")
    meta = store.read_meta()
    parts = [store.read_shard(i) for i in range(job["shards"])]
    if parts:
        images = np.concatenate([p[0] for p in parts])
        if not np.array_equal(np.concatenate([p[1] for p in parts]), meta["ids"]):
            raise ValueError(f"{path}: shard ids do not match the job's ids")
    else:
        images = np.zeros((0, 1, 1), np.uint8)
    d = job["dataset"]
    source = Dataset(images=images, labels=meta["labels"], splits=meta["splits"], ids=meta["ids"], source=d["source"],
                     source_hash=d["source_sha256"], name=d["name"], soft_labels=meta.get("soft_labels"),
                     options=d["options"], classes=tuple(d["classes"]),
                     # "restore_cost" / "degrade_cost": the study runner reads the per-image cost here
                     report={"job_dir": str(store.path), f"{job['kind']}_cost": job.get("cost")})
    spec = StageSpec(**{**job["stage"], "size": _size(job["stage"]["size"])})
    return derive(source, images, spec, job["description"], job["key"])


def _size(size: Any) -> Any:
    return tuple(size) if isinstance(size, list) else size
