"""``run_study``: every cell of a study, resumable, locally in parallel or on Ray, into one results folder.

Layout of ``RESULTS``:
  study.yaml              the resolved study (environment variables expanded)
  status.json             per cell: finished / failed (with the error) / skipped (missing weights)
  audit-<dataset>.json    leakage audit; evaluation also reports metrics without the leaked rows
  models/<name>/          models trained by the study (ferbench train output; resumable)
  runs/<cell>/            one evaluation run per cell (run.json, predictions.jsonl, metrics.json)
  artifacts/grids/*.png   restoration sample grids (original | degraded | each restorer)
  store.parquet           every run flattened into one table (query it with pandas or DuckDB)
Finished cells are skipped on a re-run; an interrupted cell resumes from its predictions.
"""

from __future__ import annotations

import functools
import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml

from ..utils.io import sha256_json, write_json, write_text
from .spec import Cell, DatasetSpec, ModelSpec, RestorerSpec, StudySpec, cells

STATUS = "status.json"


class Missing(Exception):
    """A cell cannot run here: its weights or optional dependencies are not available."""


def default_split(ds) -> str:
    for split in ("PrivateTest", "PublicTest"):
        if split in ds.split_names:
            return split
    return ds.split_names[-1]


@functools.lru_cache(maxsize=4)
def _full_dataset(path: str, ferplus: str | None, label_mode: str):
    from ..data import load_dataset

    return load_dataset(path, ferplus=ferplus, label_mode=label_mode)


def eval_dataset(spec: DatasetSpec):
    ds = _full_dataset(spec.path, spec.ferplus, spec.label_mode)
    split = default_split(ds) if spec.split == "auto" else spec.split
    return ds.select(split, limit=spec.limit)


def _restorer_kwargs(rs: RestorerSpec) -> dict[str, Any]:
    return {"params": rs.params, "weights": rs.weights, "size": rs.size}


def prepare(ds, degradation: str, severity: int, rs: RestorerSpec | None, seed: int) -> tuple[Any, dict]:
    """Degrade, then restore; returns the dataset and the cost of each stage."""
    from ..cost import PhaseMeter
    from ..degrade import degrade_dataset
    from ..restore import restore_dataset

    cost: dict[str, Any] = {}
    if degradation != "none":
        with PhaseMeter("degradation", items=len(ds)) as m:
            ds = degrade_dataset(ds, degradation, severity, seed=seed)
        cost["degradation"] = m.result
    if rs is not None and rs.name != "identity":
        with PhaseMeter("restoration", items=len(ds)) as m:
            ds = restore_dataset(ds, rs.name, **_restorer_kwargs(rs))
        cost["restoration"] = {**m.result, "restorer": rs.key, **_stage_cost(ds)}
    return ds, cost


def _stage_cost(ds) -> dict[str, Any]:
    """Per-image cost recorded by the restore stage itself (also when its output came from the cache)."""
    stage = ds.report.get("restore_cost") if isinstance(ds.report, dict) else None
    return {"stage": stage} if stage else {}


def model_weights(m: ModelSpec, results: Path) -> str | None:
    return str(results / "models" / m.name / "model.safetensors") if m.train is not None else m.weights


@functools.lru_cache(maxsize=2)
def _predictor(model: str, weights: str | None, options_json: str, batch_size: int | None):
    from ..models import load_predictor

    p = load_predictor(model, weights, **json.loads(options_json))
    if batch_size:
        p.batch_size = batch_size
    return p


def predictor_for(m: ModelSpec, results: Path, batch_size: int | None):
    weights = model_weights(m, results)
    if weights and not Path(weights).exists():
        raise Missing(f"model {m.name}: weights {weights} not found")
    try:
        return _predictor(m.registered, weights, json.dumps(m.options, sort_keys=True), batch_size)
    except (FileNotFoundError, ImportError) as exc:
        raise Missing(f"model {m.name}: {exc}") from exc


def check_missing(spec: StudySpec) -> dict[str, str]:
    """What this machine lacks for the study, by restorer/model key, before anything runs."""
    missing: dict[str, str] = {}
    for ds in spec.datasets:
        if not Path(ds.path).exists():
            missing[f"dataset {ds.name}"] = f"{ds.path} not found"
    for rs in spec.restorers:
        if rs.weights and not Path(rs.weights).exists():
            missing[f"restorer {rs.key}"] = f"weights {rs.weights} not found"
    for m in spec.models:
        if m.train is None and m.weights and not Path(m.weights).exists():
            missing[f"model {m.name}"] = f"weights {m.weights} not found"
        if m.train_restorer and f"restorer {m.train_restorer}" in missing:
            missing[f"model {m.name}"] = f"trains on {m.train_restorer} faces, which are unavailable"
    return missing


def cell_config(cell: Cell, spec: StudySpec, results: Path) -> dict[str, Any]:
    return {
        "study": {"name": spec.name, "cell": cell.id},
        "data": cell.dataset.path, "dataset": cell.dataset.name, "split": cell.dataset.split,
        "limit": cell.dataset.limit,
        "degradation": None if cell.degradation == "none" else {"name": cell.degradation, "severity": cell.severity},
        "restorer": None if cell.restorer.name == "identity" else {"name": cell.restorer.name, "label": cell.restorer.key,
                                                                  "params": cell.restorer.params,
                                                                  "size": cell.restorer.size},
        "model": cell.model.name, "registered_model": cell.model.registered,
        "weights": model_weights(cell.model, results), "options": cell.model.options,
    }


def run_cell(spec_json: str, cell_id: str, results: str, threads: int | None = None,
             progress: bool = False) -> dict[str, Any]:
    """Run one cell (in this process, a pool worker or a Ray task). Never raises: returns a status."""
    import torch

    from ..runs.evaluate import evaluate

    if threads:
        torch.set_num_threads(threads)
    spec = StudySpec.model_validate_json(spec_json)
    cell = {c.id: c for c in cells(spec)}[cell_id]
    root = Path(results)
    out = root / "runs" / cell.id
    try:
        predictor = predictor_for(cell.model, root, spec.batch_size)
        ds, cost = prepare(eval_dataset(cell.dataset), cell.degradation, cell.severity, cell.restorer, spec.seed)
        clean = _clean_ids(root, cell.dataset) if spec.audit else None
        metrics = evaluate(predictor, ds, out, cell_config(cell, spec, root), seed=spec.seed, n_boot=spec.n_boot,
                           clean_ids=clean, extra_cost=cost, progress=progress)
        return {"cell": cell.id, "status": "finished", "accuracy": metrics["accuracy"], "n": metrics["n"]}
    except Missing as exc:
        return {"cell": cell.id, "status": "skipped", "reason": str(exc)}
    except Exception as exc:  # one broken cell must not stop the study; the error is recorded
        return {"cell": cell.id, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}


def _clean_ids(root: Path, ds_spec: DatasetSpec) -> list[str] | None:
    path = root / f"clean-{ds_spec.name}.json"
    if not path.exists():
        return None
    return [i for s in json.loads(path.read_text())["splits"].values() for i in s["kept"]]


def _finished(root: Path, cell: Cell) -> bool:
    run = root / "runs" / cell.id / "run.json"
    if not run.exists():
        return False
    return json.loads(run.read_text()).get("status") == "finished"


def audit_datasets(spec: StudySpec, root: Path, say: Callable[[str], None]) -> None:
    from ..data.audit import audit, clean_split

    for d in spec.datasets:
        path, clean = root / f"audit-{d.name}.json", root / f"clean-{d.name}.json"
        full = _full_dataset(d.path, d.ferplus, d.label_mode)
        key = full.fingerprint
        if path.exists() and json.loads(path.read_text()).get("fingerprint") == key:
            continue
        say(f"auditing {d.name} for duplicates and leakage ({len(full):,} images)")
        report = audit(full)
        write_json(path, report)
        write_json(clean, clean_split(full, report))


def train_models(spec: StudySpec, root: Path, missing: dict[str, str], say: Callable[[str], None],
                 progress: bool, needed: set[str]) -> None:
    from ..train import TrainConfig
    from ..train.fit import TRAIN_JSON, train

    restorers = {r.key: r for r in spec.restorers}
    for m in spec.models:
        if m.train is None or f"model {m.name}" in missing or m.name not in needed:
            continue
        out = root / "models" / m.name
        data = spec.datasets[0]
        overrides = {**spec.train_defaults, **m.train}
        rs = restorers.get(m.train_restorer) if m.train_restorer else None
        cfg = TrainConfig.model_validate({"seed": spec.seed, **overrides, "data": data.path,
                                          "restore": rs.model_dump() if rs else None})
        done = out / TRAIN_JSON
        if done.exists() and (out / "model.safetensors").exists():
            previous = json.loads(done.read_text())
            if previous.get("status") == "finished" and previous.get("config_hash") == sha256_json(cfg.result_affecting()):
                continue
        dataset = None
        if rs is not None:
            full = _full_dataset(data.path, data.ferplus, data.label_mode)
            subset = full.select([cfg.train_split, cfg.val_split])
            dataset, _ = prepare(subset, "none", 0, rs, spec.seed)
        say(f"training {m.name} ({cfg.model}, {cfg.epochs} epochs max"
            f"{f', {cfg.max_minutes} min max' if cfg.max_minutes else ''}) -> {out}")
        train(cfg, out, resume=(out / "checkpoints" / "last.ckpt").exists(), progress=progress, dataset=dataset)


def sample_grids(spec: StudySpec, root: Path) -> None:
    from ..degrade import degrade_dataset
    from ..restore import restore_dataset
    from ..restore.grid import sample_grid

    if not spec.grid_samples:
        return
    for d in spec.datasets:
        base = eval_dataset(d).subset(np.arange(min(spec.grid_samples, len(eval_dataset(d)))))
        for dg in spec.degradations:
            for sev in (dg.severities if dg.name != "none" else [0]):
                name = "none" if dg.name == "none" else f"{dg.name}-{sev}"
                path = root / "artifacts" / "grids" / f"{d.name}__{name}.png"
                if path.exists():
                    continue
                degraded = base if dg.name == "none" else degrade_dataset(base, dg.name, sev, seed=spec.seed)
                columns = {"original": base.images}
                if dg.name != "none":
                    columns[f"{dg.name} s{sev}"] = degraded.images
                for rs in spec.restorers:
                    if rs.name == "identity":
                        continue
                    try:
                        columns[rs.key] = restore_dataset(degraded, rs.name, **_restorer_kwargs(rs)).images
                    except Exception:  # an unavailable restorer is reported by its cells, not here
                        continue
                sample_grid(columns, path)


def run_study(spec: StudySpec, results: str | Path, workers: int = 1, executor: str = "local",
              only: str | None = None, progress: bool = True, say: Callable[[str], None] = print) -> dict[str, Any]:
    from rich.progress import Progress

    root = Path(results)
    root.mkdir(parents=True, exist_ok=True)
    write_text(root / "study.yaml", yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    missing = check_missing(spec)
    for what, why in missing.items():
        say(f"missing: {what}: {why} (its cells are skipped)")
    if any(k.startswith("dataset") for k in missing):
        raise FileNotFoundError("; ".join(f"{k}: {v}" for k, v in missing.items() if k.startswith("dataset")))
    if spec.audit:
        audit_datasets(spec, root, say)
    todo = [c for c in cells(spec) if (only is None or only in c.id)]
    train_models(spec, root, missing, say, progress, needed={c.model.name for c in todo})
    status: dict[str, Any] = json.loads((root / STATUS).read_text()) if (root / STATUS).exists() else {}
    pending = []
    for c in todo:
        blocked = missing.get(f"model {c.model.name}") or missing.get(f"restorer {c.restorer.key}")
        if blocked:
            status[c.id] = {"cell": c.id, "status": "skipped", "reason": blocked}
        elif _finished(root, c):
            status[c.id] = {**status.get(c.id, {}), "cell": c.id, "status": "finished"}
        else:
            pending.append(c)
    say(f"study {spec.name}: {len(todo)} cells, {len(todo) - len(pending)} done or skipped, {len(pending)} to run")
    spec_json = spec.model_dump_json()
    with Progress(disable=not progress) as bar:
        task = bar.add_task("cells", total=len(pending))
        for result in _execute(spec_json, pending, root, workers, executor):
            status[result["cell"]] = result
            write_json(root / STATUS, status)
            if result["status"] != "finished":
                say(f"{result['status']}: {result['cell']}: {result.get('reason') or result.get('error')}")
            bar.advance(task)
    write_json(root / STATUS, status)
    sample_grids(spec, root)
    try:
        from ..runs.store import build_store

        build_store(root)
    except ImportError:
        pass
    return status


def _execute(spec_json: str, pending: list[Cell], root: Path, workers: int, executor: str):
    if executor == "ray":
        import ray

        if not ray.is_initialized():
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        remote = ray.remote(num_cpus=1)(run_cell)
        refs = [remote.remote(spec_json, c.id, str(root), 1) for c in pending]
        while refs:
            ready, refs = ray.wait(refs, num_returns=1)
            yield ray.get(ready[0])
    elif workers > 1:
        threads = max(1, (os.cpu_count() or 1) // workers)
        with ProcessPoolExecutor(workers) as pool:
            futures = [pool.submit(run_cell, spec_json, c.id, str(root), threads) for c in pending]
            for f in as_completed(futures):
                yield f.result()
    elif executor == "local":
        for c in pending:
            yield run_cell(spec_json, c.id, str(root))
    else:
        raise ValueError(f"unknown executor {executor!r} (local, ray)")
