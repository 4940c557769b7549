"""Late fusion of two predictors (e.g. a CNN and a VLM): ``hybrid`` family.

``rule=logprob`` (default): p ∝ exp(w·log pA + (1−w)·log pB), a weighted geometric mean; ``rule=prob``:
p = w·pA + (1−w)·pB. The weight w is fitted on PublicTest predictions (two run directories of the same
samples) by a grid over [0, 1], minimising the negative log-likelihood (or maximising accuracy). A sample
for which one model gave no probabilities (an unparsed VLM answer) takes the other model's; with neither,
it stays unscored. The fusion is a small JSON file; ``ferbench eval --model hybrid --weights FILE`` runs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

from ...utils.io import read_json, write_json
from ..predictor import Prediction, Predictor, summed_cost
from ..registry import register_model

EPS = 1e-12


def fuse(pa: np.ndarray, pb: np.ndarray, weight: float, rule: Literal["logprob", "prob"] = "logprob") -> np.ndarray:
    pa, pb = np.asarray(pa, dtype=np.float64), np.asarray(pb, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        if rule == "logprob":
            z = weight * np.log(np.clip(pa, EPS, 1)) + (1 - weight) * np.log(np.clip(pb, EPS, 1))
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
        elif rule == "prob":
            p = weight * pa + (1 - weight) * pb
        else:
            raise ValueError(f"unknown fusion rule {rule!r} (logprob, prob)")
    only_b = ~np.isfinite(pa).all(axis=1)
    only_a = ~np.isfinite(pb).all(axis=1)
    p[only_b] = pb[only_b]
    p[only_a] = pa[only_a]
    return p


def fit_weight(pa: np.ndarray, pb: np.ndarray, labels: np.ndarray, rule: str = "logprob", metric: str = "nll",
               grid: int = 101) -> tuple[float, list[dict[str, float]]]:
    """The weight of model A on a grid of ``grid`` points in [0, 1], fitted on rows both models scored."""
    ok = np.isfinite(pa).all(axis=1) & np.isfinite(pb).all(axis=1) & (labels >= 0)
    if not ok.any():
        raise ValueError("fusion: no sample has probabilities from both models")
    pa, pb, y = pa[ok], pb[ok], labels[ok]
    table = []
    for w in np.linspace(0, 1, grid):
        p = fuse(pa, pb, float(w), rule)
        nll = float(-np.log(np.clip(p[np.arange(len(y)), y], EPS, 1)).mean())
        table.append({"weight": round(float(w), 6), "nll": nll, "accuracy": float((p.argmax(1) == y).mean())})
    key = (lambda r: r["nll"]) if metric == "nll" else (lambda r: -r["accuracy"])
    if metric not in ("nll", "accuracy"):
        raise ValueError(f"unknown fusion metric {metric!r} (nll, accuracy)")
    return min(table, key=key)["weight"], table


def _member(run: dict[str, Any]) -> dict[str, Any]:
    config = run.get("config", {})
    weights = config.get("weights")
    if weights and Path(weights).exists():
        weights = str(Path(weights).resolve())
    return {"model": config.get("model"), "weights": weights, "options": config.get("options", {}),
            "run": run.get("dir")}


def fusion_from_runs(run_a: str | Path, run_b: str | Path, rule: str = "logprob", metric: str = "nll",
                     grid: int = 101) -> dict[str, Any]:
    """Fit the fusion on two runs over the same PublicTest samples; returns the fusion spec."""
    from ...runs.files import PREDICTIONS, arrays_from_records, load_run, read_predictions

    runs = [load_run(r) for r in (run_a, run_b)]
    for run in runs:
        splits = run.get("config", {}).get("split") or []
        if "PrivateTest" in splits:
            raise ValueError(f"{run['dir']} was evaluated on PrivateTest: fit fusion weights on PublicTest only")
    arrays = [arrays_from_records(read_predictions(Path(r) / PREDICTIONS)) for r in (run_a, run_b)]
    ids_a, ids_b = arrays[0]["ids"].tolist(), arrays[1]["ids"].tolist()
    if sorted(ids_a) != sorted(ids_b):
        raise ValueError(f"{run_a} and {run_b} hold different samples ({len(ids_a)} vs {len(ids_b)} ids)")
    order = {k: i for i, k in enumerate(ids_b)}
    ib = np.array([order[k] for k in ids_a])
    a, b = arrays[0], {k: v[ib] for k, v in arrays[1].items()}
    if (a["labels"] != b["labels"]).any():
        raise ValueError(f"{run_a} and {run_b} disagree on labels: not the same data")
    weight, table = fit_weight(a["proba"], b["proba"], a["labels"], rule, metric, grid)
    fused = fuse(a["proba"], b["proba"], weight, rule)
    scored = np.isfinite(fused).all(axis=1)
    pred = np.where(scored, np.nan_to_num(fused).argmax(1), -1)
    row = next(r for r in table if r["weight"] == weight)
    return {"ferbench_fusion": 1, "rule": rule, "weight": weight, "members": [_member(r) for r in runs],
            "fitted_on": {"runs": [str(run_a), str(run_b)], "splits": runs[0].get("config", {}).get("split"),
                          "n": len(a["labels"]), "metric": metric, "nll": row["nll"],
                          "accuracy_fused": float((pred == a["labels"]).mean()),
                          "accuracy_a": float((a["preds"] == a["labels"]).mean()),
                          "accuracy_b": float((b["preds"] == b["labels"]).mean()), "grid": table}}


class HybridPredictor(Predictor):
    def __init__(self, a: Predictor, b: Predictor, weight: float, rule: str, spec: dict[str, Any] | None = None):
        self.a, self.b, self.weight, self.rule, self.spec = a, b, float(weight), rule, spec or {}
        self.name = f"hybrid({a.name}+{b.name})"
        self.batch_size = min(a.batch_size, b.batch_size)

    def predict(self, images: np.ndarray) -> Prediction:
        pa, pb = self.a.predict(images), self.b.predict(images)
        proba = fuse(pa.proba, pb.proba, self.weight, self.rule).astype(np.float32)
        scored = np.isfinite(proba).all(axis=1)
        pred = np.where(scored, np.nan_to_num(proba).argmax(1), -1).astype(np.int64)
        extra = {**{f"a_{k}": v for k, v in pa.extra.items()}, **{f"b_{k}": v for k, v in pb.extra.items()},
                 "unparsed": int((~scored).sum())}
        return Prediction(pred=pred, proba=proba, raw=pb.raw or pa.raw, extra=extra)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "family": "hybrid", "rule": self.rule, "weight": self.weight,
                "a": self.a.describe(), "b": self.b.describe()}

    def cost_info(self) -> dict[str, Any]:
        a, b = self.a.cost_info(), self.b.cost_info()
        return {"a": a, "b": b, **summed_cost([a, b])}


def write_fusion(path: str | Path, spec: dict[str, Any]) -> Path:
    write_json(path, spec)
    return Path(path)


def load_hybrid(name: str, weights: str | Path | None, **options: Any) -> HybridPredictor:
    from ..factory import load_predictor, member_options

    if weights is None or not Path(weights).is_file():
        raise FileNotFoundError(f"--model hybrid needs --weights FUSION.json (from `ferbench vlm fuse`), got {weights}")
    spec = read_json(weights)
    if spec.get("ferbench_fusion") != 1 or len(spec.get("members", [])) != 2:
        raise ValueError(f"{weights}: not a ferbench fusion file (ferbench_fusion: 1, two members)")
    weight = options.pop("weight", spec["weight"])
    consent = options.pop("trust_remote_code", False)  # consent is given per run, never inherited from a file
    if options:
        raise ValueError(f"--model hybrid takes only weight=... and --trust-remote-code, not {', '.join(options)}; "
                         f"its members' options are in {weights}")
    members = [load_predictor(m["model"], m.get("weights"), **member_options(m.get("options", {}), consent))
               for m in spec["members"]]
    return HybridPredictor(members[0], members[1], weight, spec["rule"], spec)


register_model("hybrid", family="hybrid", predictor=load_hybrid,
               description="late fusion of two models (--weights fusion.json from `ferbench vlm fuse`)")(load_hybrid)
