"""Everything the report templates show, computed from a results folder (run dirs, audit.json, artifacts)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from ..emotions import EMOTIONS
from ..runs.collect import NO_DEGRADATION, NO_RESTORER, PHASES, Collected, collect
from . import figures
from .claims import claims_table, paper_claims
from .findings import Pairs, clean_rows, findings, loss_table, restorer_table
from .fmt import pval, signed_pp
from .significance import significance_groups

AUDIT_FILES, ARTIFACTS, STATUS = ("audit.json", "audit-*.json"), "artifacts", "status.json"


@dataclass
class Figure:
    """A PNG shown in the HTML (as a data URI) and written beside the Markdown (as ``file``)."""

    file: str
    data: bytes
    caption: str
    width: int | None = None  # display width in the HTML (small sample grids are enlarged, pixelated)

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.data).decode("ascii")


def build_context(results: str | Path, title: str | None = None, max_samples: int = 24, n_boot: int = 200,
                  step: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """``step(message)`` is called before each slow part (for a progress display)."""
    root = Path(results)
    step("reading runs")
    found: Collected = collect(root)
    rows = [r.row for r in found.runs]
    for r in found.runs:
        model = r.run.get("model") or {}
        r.row["sample_kind"] = _sample_kind(r.run.get("config") or {})
        r.row["model_weights"] = model.get("weights") or model.get("source")  # claims: like for like only
    step("findings")
    pairs = Pairs(found.runs, n_boot=max(n_boot, 1000))
    found_text = findings(found.runs, pairs)
    clean = {r["ref"] for r in clean_rows(rows)}
    step("confusion matrices")
    shown = [r for r in found.runs if r.metrics.get("confusion_matrix") and (r.row["ref"] in clean or not clean)]
    confusions = [Figure(f"figures/confusion-{r.row['ref']}.png",
                         figures.confusion_png(r.metrics["confusion_matrix"], f"{r.row['ref']}: {r.row['setting']}"),
                         f"{r.row['ref']}: {r.row['setting']}") for r in shown]
    step("significance tests")
    groups = significance_groups(found.runs, n_boot=n_boot)
    for group in groups:
        group["table"] = _significance_cells(group)
    pareto, fronts = _pareto(rows)
    return {
        "findings": found_text, "headline": _headline(rows), "restoration": _restoration(rows),
        "loss_rows": loss_table(rows, pairs), "restorer_rows": restorer_table(rows, pairs),
        "confusions_all": len(shown) == len(found.runs),
        "title": title or f"ferbench report: {root.resolve().name}",
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "results": str(root), "rows": rows, "unfinished": found.unfinished, "emotions": EMOTIONS,
        "phases": [p for p in PHASES if any(r.get(f"{p}_wall_s") is not None for r in rows)],
        # phases that count images (evaluation does not): only these get an img/s column
        "rated": [p for p in PHASES if any(r.get(f"{p}_items_per_s") is not None for r in rows)],
        "show_data": len({(r["dataset"], r["split"]) for r in rows}) > 1,
        "confusions": confusions, "pareto": pareto, "pareto_fronts": fronts,
        "cost_rows": _cost_rows(rows, fronts),
        "samples": _samples(root, max_samples),
        "significance": groups,
        "dedup_rows": [r for r in rows if r.get("dedup_accuracy") is not None and (r["ref"] in clean or not clean)],
        "audits": [_audit(path) for pattern in AUDIT_FILES for path in sorted(root.glob(pattern))],
        "not_run": _not_run(root / STATUS),
        "claims": paper_claims(), "claims_rows": claims_table(rows),
        "environment": sorted({(r["machine"] or "?", r["torch_version"] or "?") for r in rows}),
    }


def _sample_kind(config: dict[str, Any]) -> str:
    if config.get("sample"):
        return "a fixed class-stratified random sample"
    return f"the first {config['limit']:,} rows" if config.get("limit") else ""


def _headline(rows: list[dict[str, Any]]) -> Figure | None:
    """Accuracy against severity per degradation, unrestored runs, models as lines with CI bands."""
    plain = [r for r in rows if r["restorer"] == NO_RESTORER and r.get("accuracy") is not None]
    degraded = [r for r in plain if r["degradation"] != NO_DEGRADATION and r["severity"] is not None]
    if not degraded:
        return None
    clean = {r["model"]: _ci_bounds(r) for r in plain if r["degradation"] == NO_DEGRADATION}
    panels: dict[str, dict[str, list]] = {}
    for r in degraded:
        panels.setdefault(r["degradation"], {}).setdefault(r["model"], []).append((r["severity"], *_ci_bounds(r)))
    for series in panels.values():
        for model, points in series.items():
            if model in clean:
                points.append((0.0, *clean[model]))
    seen = {m for series in panels.values() for m in series}
    only = {m: v for m, v in clean.items() if m not in seen}
    return Figure("figures/headline.png", figures.headline_png(panels, only),
                  "Accuracy against degradation severity, without restoration: one panel per degradation, one line "
                  "per model, 95% bootstrap CIs as bands (severity 0: clean faces)")


def _restoration(rows: list[dict[str, Any]]) -> Figure | None:
    """Train-time robustness against test-time restoration: per degraded condition, each model unrestored
    beside the same model with its best restorer; None when no restorer ran on degraded faces."""
    degraded = [r for r in rows if r["degradation"] != NO_DEGRADATION and r["severity"] is not None
                and r.get("accuracy") is not None]
    best = best_restorer(degraded)
    if not best:
        return None
    plain = {_cell(r): r for r in degraded if r["restorer"] == NO_RESTORER}
    models = list(dict.fromkeys(r["model"] for r in degraded))
    groups = []
    for degradation, severity in sorted({(d, s) for _, d, s in [*plain, *best]}):
        runs = [run for m in models for run in (plain.get((m, degradation, severity)),
                                                  best.get((m, degradation, severity))) if run is not None]
        groups.append({"label": f"{degradation} {severity:g}", "bars": [_bar(r) for r in runs]})
    return Figure("figures/restoration.png", figures.restoration_png(groups),
                  "Train-time robustness against test-time restoration: accuracy per degraded condition, each model "
                  "without restoration (solid) and with its best restorer (hatched), 95% bootstrap CIs. The best "
                  "restorer is the most accurate on these same test faces, so its bar is an optimistic choice")


def best_restorer(rows: list[dict[str, Any]]) -> dict[tuple[str, str, Any], dict[str, Any]]:
    """Per (model, degradation, severity): the restored run with the highest accuracy (identity is no
    restorer; runs without an accuracy cannot compete)."""
    best: dict[tuple[str, str, Any], dict[str, Any]] = {}
    for r in rows:
        if r["restorer"] == NO_RESTORER or r.get("accuracy") is None:
            continue
        if _cell(r) not in best or r["accuracy"] > best[_cell(r)]["accuracy"]:
            best[_cell(r)] = r
    return best


def _cell(row: dict[str, Any]) -> tuple[str, str, Any]:
    return row["model"], row["degradation"], row["severity"]


def _bar(row: dict[str, Any]) -> dict[str, Any]:
    acc, low, high = _ci_bounds(row)
    restorer = None if row["restorer"] == NO_RESTORER else row["restorer"]
    return {"model": row["model"], "restorer": restorer, "acc": acc, "low": low, "high": high}


def _ci_bounds(row: dict[str, Any], key: str = "accuracy") -> tuple[float, float, float]:
    value = row[key]
    low, high = row.get(f"{key}_ci_low"), row.get(f"{key}_ci_high")
    return value, value if low is None else low, value if high is None else high


COSTS = (("pipeline_s_per_image", "restoration + inference wall seconds per image"),
         ("flops_per_image", "classifier FLOPs per image"))


def _condition(row: dict[str, Any], several_data: bool) -> str:
    """The test condition a run was evaluated under: runs compete for the Pareto front only within one."""
    severity = "" if row["severity"] is None else f" {row['severity']:g}"
    return row["degradation"] + severity + (f" ({row['dataset']} {row['split']})" if several_data else "")


def _pareto(rows: list[dict[str, Any]]) -> tuple[Figure | None, list[dict[str, Any]]]:
    """Accuracy against cost (time per image, FLOPs per image where known), one Pareto front per condition."""
    several_data = len({(r["dataset"], r["split"]) for r in rows}) > 1
    panels, fronts = [], []
    for key, label in COSTS:
        usable = [r for r in rows if r.get(key) and r.get("accuracy") is not None]
        if not usable:
            continue
        conditions = sorted({_condition(r, several_data) for r in usable},
                            key=lambda c: (not c.startswith(NO_DEGRADATION), c))
        groups = []
        for condition in conditions:
            members = [r for r in usable if _condition(r, several_data) == condition]
            acc, low, high = zip(*(_ci_bounds(r) for r in members))
            front = figures.pareto_front([r[key] for r in members], acc)
            groups.append({"label": condition, "refs": [r["ref"] for r in members], "cost": [r[key] for r in members],
                           "acc": acc, "low": low, "high": high, "front": front})
            fronts.append({"key": key, "label": label, "condition": condition,
                           "refs": [members[i]["ref"] for i in front]})
        panels.append({"label": label, "groups": groups})
    if not panels:
        return None, []
    caption = "Accuracy against cost; filled markers and lines: the Pareto front of each test condition"
    return Figure("figures/pareto.png", figures.pareto_png(panels), caption), fronts


def _cost_rows(rows: list[dict[str, Any]], fronts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The plotted numbers as a table (points on top of each other in the plot stay readable here)."""
    on = {(f["key"], ref) for f in fronts for ref in f["refs"]}
    return [{**r, "front_time": (COSTS[0][0], r["ref"]) in on, "front_flops": (COSTS[1][0], r["ref"]) in on}
            for r in rows if r.get("accuracy") is not None and (r.get(COSTS[0][0]) or r.get(COSTS[1][0]))]


def _samples(root: Path, limit: int) -> dict[str, Any]:
    files = sorted((root / ARTIFACTS).rglob("*.png")) if (root / ARTIFACTS).is_dir() else []
    shown = [Figure(f"figures/sample-{k:02d}.png", path.read_bytes(), path.relative_to(root).as_posix(),
                    width=_enlarged_width(path)) for k, path in enumerate(files[:limit], 1)]
    return {"figures": shown, "more": len(files) - len(shown)}


def _enlarged_width(path: Path, target: int = 480) -> int | None:
    """Whole-number zoom that brings a small grid of 48 px faces up to about ``target`` px wide."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            width = im.width
    except OSError:
        return None
    return width * max(1, min(6, target // max(width, 1)))


def _significance_cells(group: dict[str, Any]) -> list[list[dict[str, str]]]:
    """Upper triangle: McNemar exact p (row vs column); lower: accuracy difference row − column (pp).
    ``cls`` marks p below the Bonferroni threshold of the group (``sig``) or below 0.05 only (``nominal``)."""
    table = []
    for i, row in enumerate(group["cells"]):
        out = []
        for j, cell in enumerate(row):
            if cell is None:
                out.append({"text": "·", "cls": "diag", "title": ""})
                continue
            p = cell["mcnemar_exact_p"]
            cls = "sig" if p < group["bonferroni_alpha"] else "nominal" if p < 0.05 else ""
            low, high = cell["accuracy_diff_ci"]
            title = (f"{group['refs'][i]} − {group['refs'][j]}: {signed_pp(cell['accuracy_diff'])} pp "
                     f"(paired bootstrap 95% CI {signed_pp(low)} to {signed_pp(high)}); only {group['refs'][i]} "
                     f"right {cell['only_a_correct']}, only {group['refs'][j]} right {cell['only_b_correct']}; "
                     f"McNemar exact p = {pval(p)}")
            text = pval(p) if j > i else signed_pp(cell["accuracy_diff"])
            out.append({"text": text, "cls": cls if j > i else "diff", "title": title})
        table.append(out)
    return table


def _not_run(path: Path) -> list[dict[str, str]]:
    """Study cells the runner skipped (missing weights...) or that failed, from its status.json."""
    try:
        status = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError) as exc:
        return [{"status": "unreadable", "reason": f"{path.name}: {exc}", "cells": []}]
    groups: dict[tuple[str, str], list[str]] = {}  # one line per (status, reason): the paper study skips many
    for cell, entry in sorted(status.items()):
        if isinstance(entry, dict) and entry.get("status") != "finished":
            key = (str(entry.get("status")), str(entry.get("reason") or entry.get("error") or ""))
            groups.setdefault(key, []).append(cell)
    return [{"status": st, "reason": reason, "cells": cells} for (st, reason), cells in groups.items()]


def _audit(path: Path) -> dict[str, Any]:
    """The duplicate-audit figures of ``ferbench data audit -o audit.json``, as table rows."""
    try:
        report = json.loads(path.read_text())
        exact, near = report["exact"], report["near"]
    except (OSError, ValueError, KeyError) as exc:
        return {"file": path.name, "error": f"{path.name}: cannot read the audit ({type(exc).__name__}: {exc})"}
    rows = [("duplicate groups", exact["groups"], near["groups"]), ("rows in them", exact["rows"], near["rows"]),
            ("groups with conflicting labels", exact["conflicting_label_groups"], near["conflicting_label_groups"])]
    for key in sorted(set(exact["cross_split_groups"]) | set(near["cross_split_groups"])):
        rows.append((f"groups across {key}", exact["cross_split_groups"].get(key, 0),
                     near["cross_split_groups"].get(key, 0)))
    for key in sorted(set(exact["test_rows_with_training_twin"]) | set(near["test_rows_with_training_twin"])):
        rows.append((f"{key} rows with a Training twin", exact["test_rows_with_training_twin"].get(key, 0),
                     near["test_rows_with_training_twin"].get(key, 0)))
    splits = report.get("splits", {})
    leaked = [{"split": s, "rows": len(ids), "total": splits.get(s), "share": len(ids) / splits[s] if splits.get(s)
               else None} for s, ids in report.get("leaked_ids", {}).items()]
    return {"file": path.name, "error": None, "source": report.get("source"), "n": report.get("n"), "max_hamming": near.get("max_hamming"),
            "rows": rows, "blank": (report.get("blank") or {}).get("rows"), "leaked": leaked}

