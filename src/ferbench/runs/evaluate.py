"""One evaluation run: a predictor on a dataset -> run.json, predictions.jsonl, metrics.json.

Predictions are appended batch by batch (fsync'd), so a killed run resumes where it stopped: finished
ids are skipped, a torn last line is dropped. A run directory is tied to its configuration hash; resuming
with a different configuration is refused instead of mixing results.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..cost import PhaseMeter, machine_info
from ..data.dataset import Dataset
from ..metrics import compute_metrics
from ..models.predictor import Predictor
from ..utils.io import sha256_json, write_json
from ..utils.progress import progress_bar
from ..utils.provenance import now, versions
from .files import (METRICS, PREDICTIONS, RUN_JSON, append_predictions, arrays_from_records, prediction_record,
                    read_predictions)


def dataset_info(ds: Dataset) -> dict[str, Any]:
    return {"name": ds.name, "source": ds.source, "source_sha256": ds.source_hash, "fingerprint": ds.fingerprint,
            "splits": ds.split_names, "n": len(ds), "image_size": list(ds.image_size), "mode": ds.mode,
            "options": ds.options}


def evaluate(predictor: Predictor, ds: Dataset, out_dir: str | Path, config: dict[str, Any], seed: int = 0,
             n_boot: int = 1000, batch_size: int | None = None, clean_ids: list[str] | None = None,
             extra_cost: dict[str, Any] | None = None, progress: bool = True,
             on_batch: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run (or resume) an evaluation and return its metrics. ``on_batch(n)`` is called after each batch of n
    images (a caller's own progress display: the study runner's, when ``progress`` is False)."""
    import torch

    if len(ds) == 0:
        raise ValueError(f"{ds.source}: no samples to evaluate (an empty selection scores nothing)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    batch_size = batch_size or predictor.batch_size
    config = {**config, "seed": seed, "n_boot": n_boot, "batch_size": batch_size}
    identity = {"config": config, "model": predictor.describe(), "dataset": ds.fingerprint}
    config_hash = sha256_json(identity)
    run_file = out / RUN_JSON
    if run_file.exists():
        previous = json.loads(run_file.read_text())
        if previous.get("config_hash") != config_hash:
            raise ValueError(f"{out} holds a run with a different configuration "
                             f"({previous.get('config_hash', '?')[:12]} != {config_hash[:12]}); use a new --out")
    run: dict[str, Any] = {
        "ferbench_run": 1, "kind": "eval", "status": "running", "started": now(), "config": config,
        "config_hash": config_hash, "seed": seed, "model": predictor.describe(), "dataset": dataset_info(ds),
        "classes": list(ds.classes), "versions": versions(), "machine": machine_info(), "cost": {},
    }
    if run_file.exists():
        run["cost"] = json.loads(run_file.read_text()).get("cost", {})
    write_json(run_file, run)

    pred_file = out / PREDICTIONS
    done = {r["id"] for r in read_predictions(pred_file, repair=True)}
    todo = np.flatnonzero(~np.isin(ds.ids, np.array(sorted(done), dtype=ds.ids.dtype))) if done else np.arange(len(ds))
    extra_totals: dict[str, float] = {}
    with PhaseMeter("inference", batch_size=batch_size) as meter:
        with progress_bar() if progress else contextlib.nullcontext() as bar:
            task = bar.add_task(f"{predictor.name}", total=len(ds), completed=len(ds) - len(todo), rate="") \
                if bar else None
            t0, count = time.perf_counter(), 0
            for lo in range(0, len(todo), batch_size):
                index = todo[lo:lo + batch_size]
                p = predictor.predict(ds.images[index])
                raw = p.raw or [None] * len(index)
                append_predictions(pred_file, [
                    prediction_record(ds.ids[i], int(ds.labels[i]), int(p.pred[k]), p.proba[k], raw[k])
                    for k, i in enumerate(index)])
                for key, value in p.extra.items():
                    if isinstance(value, (int, float)):
                        extra_totals[key] = extra_totals.get(key, 0) + value
                count += len(index)
                if bar:
                    bar.update(task, advance=len(index), rate=f"{count / (time.perf_counter() - t0):.1f} img/s")
                if on_batch:
                    on_batch(len(index))
    meter.set_items(len(todo))
    run["cost"]["inference" if not run["cost"].get("inference") else f"inference_resumed_{now()}"] = meter.result
    if extra_totals:
        run["cost"]["inference_extra"] = extra_totals
    try:
        run["cost"]["model"] = predictor.cost_info()
    except Exception as exc:  # FLOP counting must never lose a finished run
        run["cost"]["model"] = {"error": f"{type(exc).__name__}: {exc}"}
    if extra_cost:
        run["cost"].update(extra_cost)
    trained = training_cost(run["model"])
    if trained and "training" not in run["cost"]:  # a ferbench-trained checkpoint carries its training cost
        run["cost"]["training"] = trained

    with PhaseMeter("evaluation") as meter:
        metrics = metrics_for_run(out, ds, seed=seed, n_boot=n_boot, clean_ids=clean_ids)
    run["cost"]["evaluation"] = meter.result
    write_json(out / METRICS, metrics)
    run.update(status="finished", finished=now())
    write_json(run_file, run)
    return metrics


def training_cost(model: dict[str, Any]) -> dict[str, Any] | None:
    """The training cost a checkpoint carries; for an ensemble, its members' costs summed (members trained
    elsewhere, such as imported Keras models, are counted in ``members_without_cost``)."""
    if "members" not in model:
        return (model.get("config") or {}).get("provenance", {}).get("training_cost")
    costs = [training_cost(m) for m in model["members"]]
    known = [c for c in costs if c]
    if not known:
        return None
    total: dict[str, Any] = {"phase": "training", "members": costs, "members_without_cost": len(costs) - len(known)}
    for key in ("wall_s", "cpu_s", "items", "epochs"):
        total[key] = sum(c.get(key) or 0 for c in known)
    total["peak_rss_mb"] = max(c.get("peak_rss_mb") or 0 for c in known)
    return total


def metrics_for_run(out: Path, ds: Dataset, seed: int, n_boot: int, clean_ids: list[str] | None) -> dict[str, Any]:
    records = read_predictions(out / PREDICTIONS)
    by_id = {r["id"]: r for r in records}
    missing = [i for i in ds.ids.tolist() if i not in by_id]
    if missing:
        raise RuntimeError(f"{out}: {len(missing)} samples have no prediction (first: {missing[:5]})")
    arrays = arrays_from_records([by_id[i] for i in ds.ids.tolist()])
    metrics = compute_metrics(arrays["labels"], arrays["preds"], arrays["proba"], n_boot=n_boot, seed=seed)
    keep = np.isin(arrays["ids"], np.array(clean_ids or [], dtype=str))
    if clean_ids is not None and keep.any():  # no kept row: not available, never an accuracy of 0 at n = 0
        metrics["deduplicated"] = {
            "excluded": int((~keep).sum()),
            **{k: v for k, v in compute_metrics(arrays["labels"][keep], arrays["preds"][keep],
                                                 arrays["proba"][keep], n_boot=n_boot, seed=seed).items()
               if k not in ("confusion_matrix",)},
        }
    return metrics
