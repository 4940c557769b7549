"""``run_study``: every cell of a study, resumable, locally in parallel or on Ray, into one results folder.

Layout of ``RESULTS``:
  study.yaml              the resolved study (environment variables expanded)
  status.json             per cell: finished / failed (with the error) / skipped (missing weights), and
                          whether this run reused, resumed, recomputed (and why) or newly ran it
  audit-<dataset>.json    leakage audit; evaluation also reports metrics without the leaked rows
  models/<name>/          models trained by the study (ferbench train output; resumable)
  runs/<cell>/            one evaluation run per cell (run.json, predictions.jsonl, metrics.json)
  retired/<cell>/         runs replaced because their cell changed, or of cells no longer in the study
  artifacts/grids/*.png   restoration sample grids (original | degraded | each restorer)
  store.parquet           every run flattened into one table (query it with pandas or DuckDB)
A cell is reused only when its identity (``study.identity``: data content, split, limit, degradation,
restorer and weights, model and weights, options, seed, n_boot) is the one its run recorded; an
interrupted cell resumes from its predictions. One ``ferbench run`` at a time writes into a folder.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import yaml

from ..utils.io import sha256_json, write_json, write_text
from ..utils.locks import folder_lock
from .identity import cell_identity
from .inputs import (Missing, eval_dataset, eval_split, full_dataset, model_weights, predictor_for, prepare)
from .spec import Cell, DatasetSpec, StudySpec, cells
from .training import train_models

STATUS, LOCK, RETIRED = "status.json", ".ferbench-run.lock", "retired"


def check_missing(spec: StudySpec, trust_remote_code: bool = False) -> dict[str, str]:
    """What this machine (or this run's consent) lacks for the study, by restorer/model key, before anything
    runs. A model whose options ask for ``trust_remote_code`` runs only when the run itself consents: a study
    file never grants it."""
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
        if m.options.get("trust_remote_code") and not trust_remote_code and f"model {m.name}" not in missing:
            missing[f"model {m.name}"] = "runs code shipped with its weights: pass --trust-remote-code to allow it"
    return missing


def cell_config(cell: Cell, spec: StudySpec, results: Path, identity: dict[str, Any]) -> dict[str, Any]:
    return {
        "study": {"name": spec.name, "cell": cell.id},
        "data": cell.dataset.path, "dataset": cell.dataset.name, "split": cell.dataset.split,
        "limit": cell.dataset.limit, "sample": cell.dataset.sample,
        "degradation": None if cell.degradation == "none" else {"name": cell.degradation, "severity": cell.severity},
        "restorer": None if cell.restorer.name == "identity" else {"name": cell.restorer.name, "label": cell.restorer.key,
                                                                  "params": cell.restorer.params,
                                                                  "size": cell.restorer.size},
        "model": cell.model.name, "registered_model": cell.model.registered,
        "weights": model_weights(cell.model, results), "options": cell.model.options,
        "cell_identity": identity, "cell_key": sha256_json(identity),
    }


def run_cell(spec_json: str, cell_id: str, results: str, identity_json: str, threads: int | None = None,
             progress: bool = False, on_batch: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run one cell (in this process, a pool worker or a Ray task). Never raises: returns a status.
    ``identity_json``: the cell's identity as the driver computed it (see :mod:`ferbench.study.identity`);
    ``on_batch(n)``: called after each batch of n faces classified (in this process only)."""
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
        base = eval_dataset(cell.dataset, spec.seed)
        ds, cost = prepare(base, cell.degradation, cell.severity, cell.restorer, spec.seed)
        clean = _clean_ids(root, cell.dataset, base) if spec.audit else None
        config = cell_config(cell, spec, root, json.loads(identity_json))
        metrics = evaluate(predictor, ds, out, config, seed=spec.seed, n_boot=spec.n_boot,
                           clean_ids=clean, extra_cost=cost, progress=progress, on_batch=on_batch)
        return {"cell": cell.id, "status": "finished", "accuracy": metrics["accuracy"], "n": metrics["n"]}
    except Missing as exc:
        return {"cell": cell.id, "status": "skipped", "reason": str(exc)}
    except Exception as exc:  # one broken cell must not stop the study; the error is recorded
        return {"cell": cell.id, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}


def _clean_ids(root: Path, ds_spec: DatasetSpec, ds) -> list[str] | None:
    """Kept ids of the evaluated split, or None (no de-duplicated figure) when the audit does not cover it."""
    from ..data.errors import DataError
    from ..data.splits import read_clean_split

    path = root / f"clean-{ds_spec.name}.json"
    if not path.exists():
        return None
    try:
        return read_clean_split(path).ids_for(ds, ds.split_names)
    except DataError:  # e.g. split: Training: never a de-duplicated accuracy of 0 at n = 0
        return None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def plan_cell(root: Path, cell: Cell, identity: dict[str, Any]) -> tuple[str, list[str]]:
    """What to do with a cell: ``reused`` (finished with this identity), ``resumed`` (interrupted with this
    identity), ``new``, or ``recomputed`` with the names of what changed."""
    from .identity import changed

    out = root / "runs" / cell.id
    run = _read_json(out / "run.json")
    if not run:
        return "new", []
    config = run.get("config") or {}
    if config.get("cell_key") == sha256_json(identity):
        finished = run.get("status") == "finished" and (out / "metrics.json").exists()
        return ("reused" if finished else "resumed"), []
    return "recomputed", changed(config.get("cell_identity"), identity)


def retire(root: Path, cell_id: str) -> None:
    """Move ``runs/<cell>`` aside to ``retired/<cell>`` (replacing an older retired copy): the report and the
    store read only ``runs/``, and nothing a run wrote is deleted until it is replaced twice."""
    src, dst = root / "runs" / cell_id, root / RETIRED / cell_id
    if not src.exists():
        return
    if dst.exists():
        shutil.rmtree(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    src.rename(dst)


def audit_datasets(spec: StudySpec, root: Path, say: Callable[[str], None]) -> None:
    from ..data.audit import audit, clean_split

    for d in spec.datasets:
        path, clean = root / f"audit-{d.name}.json", root / f"clean-{d.name}.json"
        full = full_dataset(d.path, d.ferplus, d.label_mode)
        key = full.fingerprint
        if path.exists() and _read_json(path).get("fingerprint") == key and clean.exists():
            continue
        say(f"auditing {d.name} for duplicates and leakage ({len(full):,} images)")
        report = audit(full)
        write_json(path, report)
        write_json(clean, clean_split(full, report))


def run_study(spec: StudySpec, results: str | Path, workers: int = 1, executor: str = "local",
              only: str | None = None, progress: bool = True, say: Callable[[str], None] = print,
              trust_remote_code: bool = False) -> dict[str, Any]:
    """Run the cells of ``spec`` that are not already done with the same identity. Raises
    :class:`ferbench.utils.locks.Busy` when another ``ferbench run`` is writing into ``results``."""
    root = Path(results)
    root.mkdir(parents=True, exist_ok=True)
    with folder_lock(root, "`ferbench run`", LOCK):
        return _run_study(spec, root, workers, executor, only, progress, say, trust_remote_code)


def _run_study(spec: StudySpec, root: Path, workers: int, executor: str, only: str | None, progress: bool,
               say: Callable[[str], None], trust_remote_code: bool) -> dict[str, Any]:
    from ..utils.progress import progress_bar
    from .grids import sample_grids

    write_text(root / "study.yaml", yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    missing = check_missing(spec, trust_remote_code)
    for what, why in missing.items():
        say(f"missing: {what}: {why} (its cells are skipped)")
    if any(k.startswith("dataset") for k in missing):
        raise FileNotFoundError("; ".join(f"{k}: {v}" for k, v in missing.items() if k.startswith("dataset")))
    if spec.audit:
        audit_datasets(spec, root, say)
    every = cells(spec)
    todo = [c for c in every if (only is None or only in c.id)]
    trained = train_models(spec, root, missing, say, progress, needed={c.model.name for c in todo})
    _retire_orphans(root, {c.id for c in every}, say)
    previous = _read_json(root / STATUS)
    status: dict[str, Any] = {c.id: previous[c.id] for c in every if isinstance(previous.get(c.id), dict)}
    pending, identities, plans = [], {}, {}
    for c in todo:
        blocked = missing.get(f"model {c.model.name}") or missing.get(f"restorer {c.restorer.key}")
        if blocked:
            status[c.id] = {"cell": c.id, "status": "skipped", "reason": blocked}
            continue
        full = full_dataset(c.dataset.path, c.dataset.ferplus, c.dataset.label_mode)
        identities[c.id] = cell_identity(c, spec, full.source_hash, eval_split(c.dataset, full), trained)
        origin, why = plans[c.id] = plan_cell(root, c, identities[c.id])
        if origin == "reused":
            metrics = _read_json(root / "runs" / c.id / "metrics.json")
            status[c.id] = {"cell": c.id, "status": "finished", "origin": "reused",
                            "accuracy": metrics.get("accuracy"), "n": metrics.get("n")}
            continue
        if origin != "resumed":
            retire(root, c.id)
        pending.append(c)
    say(f"study {spec.name}: {len(todo)} cells: {describe_plan(plans, len(todo) - len(plans))}; {len(pending)} to run")
    order = {m.name: k for k, m in enumerate(spec.models)}
    pending.sort(key=lambda c: order[c.model.name])  # one model at a time: one loaded, one ETA per model
    faces = {d.name: len(eval_dataset(d, spec.seed)) for d in spec.datasets}
    with (progress_bar() if progress else contextlib.nullcontext()) as bar:
        tasks, done = {}, Counter()
        for c in pending:
            if c.model.name not in tasks:
                cells_of = [p for p in pending if p.model.name == c.model.name]
                tasks[c.model.name] = bar.add_task(f"{c.model.name}: {len(cells_of)} cell(s)", rate="", start=False,
                                                   total=sum(faces[p.dataset.name] for p in cells_of)) if bar else None

        def advance(cell: Cell) -> Callable[[int], None] | None:
            def step(n: int) -> None:
                bar.start_task(tasks[cell.model.name])  # elapsed and ETA count from the model's first cell
                bar.advance(tasks[cell.model.name], n)
            return step if bar else None

        by_id = {c.id: c for c in pending}
        for result in _execute(spec.model_dump_json(), pending, root, workers, executor, identities, advance):
            cell = by_id[result["cell"]]
            origin, why = plans[cell.id]
            status[cell.id] = {**result, "origin": origin, **({"changed": why} if why else {})}
            write_json(root / STATUS, status)
            if result["status"] != "finished":
                say(f"{result['status']}: {cell.id}: {result.get('reason') or result.get('error')}")
            done[cell.model.name] += faces[cell.dataset.name]
            if bar:
                bar.start_task(tasks[cell.model.name])
                bar.update(tasks[cell.model.name], completed=done[cell.model.name])
    write_json(root / STATUS, status)
    sample_grids(spec, root)
    try:
        from ..runs.store import build_store

        build_store(root)
    except ImportError:
        pass
    return status


def describe_plan(plans: dict[str, tuple[str, list[str]]], skipped: int = 0) -> str:
    """'30 reused, 6 recomputed because limit changed, 0 new' (and resumed/skipped when there are any)."""
    counts = Counter(origin for origin, _ in plans.values())
    reasons = Counter(name for origin, why in plans.values() if origin == "recomputed" for name in why)
    parts = [f"{counts['reused']} reused", f"{counts['recomputed']} recomputed"
             + (f" because {', '.join(reasons)} changed" if reasons else ""), f"{counts['new']} new"]
    if counts["resumed"]:
        parts.append(f"{counts['resumed']} resumed")
    if skipped:
        parts.append(f"{skipped} skipped")
    return ", ".join(parts)


def _retire_orphans(root: Path, current: set[str], say: Callable[[str], None]) -> None:
    runs = root / "runs"
    orphans = sorted(p.name for p in runs.iterdir() if p.is_dir() and p.name not in current) if runs.is_dir() else []
    for name in orphans:
        retire(root, name)
    if orphans:
        say(f"{len(orphans)} run(s) of cells no longer in the study moved to {root / RETIRED}")


def _execute(spec_json: str, pending: list[Cell], root: Path, workers: int, executor: str,
             identities: dict[str, dict[str, Any]], advance: Callable[[Cell], Any] = lambda c: None):
    """Cells as they finish, on the executor shared with the stage runner (spawned pool or Ray tasks)."""
    from ..stages.executors import run_tasks_on_ray, spawn_pool, threads_per_worker, unordered

    ident = {c.id: json.dumps(identities[c.id]) for c in pending}
    if executor == "ray":
        yield from run_tasks_on_ray(run_cell, [(spec_json, c.id, str(root), ident[c.id], 1) for c in pending],
                                    workers)
    elif workers > 1:
        threads = threads_per_worker(workers)
        with spawn_pool(workers) as pool:
            yield from unordered(pool, run_cell, [(spec_json, c.id, str(root), ident[c.id], threads)
                                                  for c in pending], 2 * workers)
    elif executor == "local":
        for c in pending:
            yield run_cell(spec_json, c.id, str(root), ident[c.id], on_batch=advance(c))
    else:
        raise ValueError(f"unknown executor {executor!r} (local, ray)")
