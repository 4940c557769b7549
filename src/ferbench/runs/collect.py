"""Read the run directories under a results folder into flat rows (one per run) for tables and the store.

A run written by ``ferbench run`` carries its study cell, degradation and restorer in ``config``; a plain
``ferbench eval`` run has none of these and counts as undegraded and unrestored (restorer ``identity``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..emotions import EMOTIONS
from .files import iter_runs, load_run

#: Cost phases in pipeline order (run.json ``cost`` keys; resumed phases add ``<phase>_resumed_<time>``).
PHASES = ("preprocessing", "degradation", "restoration", "training", "inference", "evaluation")
#: Metrics with a bootstrap CI shown in the main table and kept in the store.
CI_METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted")
NO_DEGRADATION, NO_RESTORER = "none", "identity"
#: A study's folder of runs replaced by a re-run (their cell changed, or left the study): not reported.
RETIRED = "retired"


@dataclass
class Run:
    """One finished run: its files as read, and the flat row built from them."""

    path: Path
    run: dict[str, Any]
    metrics: dict[str, Any]
    row: dict[str, Any] = field(default_factory=dict)


@dataclass
class Collected:
    runs: list[Run]
    unfinished: list[dict[str, str]]  # run dirs without metrics.json (still running, crashed) or unreadable


def collect(results: str | Path) -> Collected:
    """Every run under ``results`` (recursively). Finished runs first sorted by model, degradation,
    severity and restorer, so tables and run numbers (R1, R2...) are stable between reports."""
    root = Path(results)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such results directory")
    runs, unfinished = [], []
    for path in iter_runs(root):
        rel = path.relative_to(root).as_posix() if path != root else path.name
        if rel.startswith(f"{RETIRED}/"):
            continue
        try:
            run = load_run(path)
        except (OSError, ValueError) as exc:
            unfinished.append({"dir": rel, "status": f"unreadable run.json: {exc}"})
            continue
        if "metrics" not in run:
            unfinished.append({"dir": rel, "status": str(run.get("status", "unknown")) + " (no metrics.json)"})
            continue
        item = Run(path=path, run=run, metrics=run["metrics"])
        item.row = flatten(run, run["metrics"], rel)
        runs.append(item)
    runs.sort(key=lambda r: (r.row["model"], r.row["degradation"] != NO_DEGRADATION, r.row["degradation"],
                             r.row["severity"] if r.row["severity"] is not None else -1.0,
                             r.row["restorer"] != NO_RESTORER, r.row["restorer"], r.row["run_id"]))
    for k, item in enumerate(runs, 1):
        item.row["ref"] = f"R{k}"
    return Collected(runs=runs, unfinished=unfinished)


def phase_cost(cost: dict[str, Any], phase: str) -> dict[str, Any] | None:
    """A phase's meter, with resumed parts (``inference_resumed_...``) added in."""
    parts = [v for k, v in cost.items()
             if isinstance(v, dict) and "wall_s" in v and (k == phase or k.startswith(f"{phase}_resumed"))]
    if not parts:
        return None
    wall = sum(p.get("wall_s") or 0.0 for p in parts)
    items = sum(p["items"] for p in parts if p.get("items") is not None) if any("items" in p for p in parts) else None
    return {"wall_s": wall, "cpu_s": sum(p.get("cpu_s") or 0.0 for p in parts),
            "peak_rss_mb": max(p.get("peak_rss_mb") or 0.0 for p in parts), "items": items,
            "items_per_s": items / wall if items and wall > 0 else None,
            "threads": parts[0].get("threads"), "batch_size": parts[0].get("batch_size")}


def _name(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("name")
    return value if isinstance(value, str) else None


def flatten(run: dict[str, Any], metrics: dict[str, Any], run_dir: str) -> dict[str, Any]:
    """The store row of one run: identity, setting, metrics with CI bounds, per-class F1, cost."""
    config = run.get("config") or {}
    study = config.get("study") or {}
    model = run.get("model") or {}
    cfg_model = config.get("model")
    degradation = config.get("degradation") or {}
    restorer = config.get("restorer") or {}
    dataset = run.get("dataset") or {}
    split = dataset.get("splits") or config.get("split") or []  # what was evaluated (config may say "auto")
    # a study may use one restorer with several settings, told apart by their label (bicubic_x2, ...)
    restorer_name = (restorer.get("label") if isinstance(restorer, dict) else None) or _name(restorer) or NO_RESTORER
    row: dict[str, Any] = {
        "run_id": study.get("cell") or run_dir, "run_dir": run_dir, "status": run.get("status"),
        "study": study.get("name"), "cell": study.get("cell"),
        "model": _name(cfg_model) or model.get("name") or "?",  # a study's model label, else the predictor's
        "registered_model": config.get("registered_model") or model.get("arch") or model.get("name"),
        "model_family": model.get("family") or (cfg_model.get("family") if isinstance(cfg_model, dict) else None),
        "dataset": _name(config.get("dataset")) or dataset.get("name"),
        "data_source": config.get("data") or dataset.get("source"),
        "split": "+".join(split) if isinstance(split, list) else str(split),
        "degradation": _name(degradation) or NO_DEGRADATION,
        "severity": _float(degradation.get("severity")) if isinstance(degradation, dict) else None,
        "restorer": NO_RESTORER if restorer_name.lower() in ("none", "identity") else restorer_name,
        "restorer_method": _name(restorer) or NO_RESTORER,
        "restorer_params": json.dumps(restorer.get("params"), sort_keys=True)
        if isinstance(restorer, dict) and restorer.get("params") else None,
        "seed": run.get("seed"), "config_hash": run.get("config_hash"),
        "started": run.get("started"), "finished": run.get("finished"),
        "n": metrics.get("n"), "n_scored": metrics.get("n_scored"), "ece": _float(metrics.get("ece")),
    }
    for key in CI_METRICS:
        row.update(_with_ci(metrics, key))
    dedup = metrics.get("deduplicated") or {}
    row["dedup_n"], row["dedup_excluded"] = dedup.get("n"), dedup.get("excluded")
    for key in ("accuracy", "balanced_accuracy", "f1_macro"):
        row.update(_with_ci(dedup, key, prefix="dedup_"))
    per_class = metrics.get("per_class") or {}
    for emotion in EMOTIONS:
        row[f"f1_{emotion}"] = _float((per_class.get(emotion) or {}).get("f1"))
    cost = run.get("cost") or {}
    for phase in PHASES:
        meter = phase_cost(cost, phase) or {}
        for key in ("wall_s", "cpu_s", "peak_rss_mb", "items", "items_per_s"):
            row[f"{phase}_{key}"] = _float(meter.get(key))
    items = row["inference_items"]
    row["inference_s_per_image"] = row["inference_wall_s"] / items if items else None
    # what one more image costs at test time: restoring it (when a restorer ran) and classifying it
    restored = row["restoration_items"]
    row["pipeline_s_per_image"] = None if row["inference_s_per_image"] is None else \
        row["inference_s_per_image"] + (row["restoration_wall_s"] / restored if restored else 0.0)
    static = cost.get("model") or {}
    row["params"], row["flops_per_image"] = _float(static.get("params")), _float(static.get("flops_per_image"))
    machine = run.get("machine") or {}
    row["machine"] = f"{machine.get('cpu', '?')} ×{machine.get('cpu_count', '?')}, " \
                     f"{machine.get('memory_gb', '?')} GB, cuda={machine.get('cuda', '?')}" if machine else None
    row["torch_version"] = (run.get("versions") or {}).get("torch")
    severity = "" if row["severity"] is None else f" {row['severity']:g}"
    row["setting"] = f"{row['model']} · {row['degradation']}{severity} · {row['restorer']}"
    return row


def _with_ci(metrics: dict[str, Any], key: str, prefix: str = "") -> dict[str, float | None]:
    low, high = (metrics.get(f"{key}_ci") or [None, None])[:2]
    return {f"{prefix}{key}": _float(metrics.get(key)), f"{prefix}{key}_ci_low": _float(low),
            f"{prefix}{key}_ci_high": _float(high)}


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
