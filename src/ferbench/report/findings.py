"""Findings: the sentences that open a report, generated from its runs and claiming only what they support.

Every accuracy is printed exactly as the tables print it (``fmt.ci``), and each finding lists the table cells
it quotes (``quotes``: run ref, metric, text) so that a test can check that they agree. Differences between
two runs come from the same faces (paired): a paired-bootstrap 95% CI and McNemar's exact p; several
comparisons of one kind are judged against a Bonferroni threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..metrics import compare_predictions
from ..runs.collect import NO_DEGRADATION, NO_RESTORER, Run
from ..runs.files import PREDICTIONS, arrays_from_records, read_predictions
from .fmt import bounds, ci, count, pct, pval, signed_pp


@dataclass
class Finding:
    topic: str
    text: str
    quotes: list[dict[str, str]] = field(default_factory=list)  # {"ref", "key", "text"}: cells of the tables


@dataclass
class Paired:
    """Run ``a`` minus run ``b`` on the faces both scored."""

    diff: float
    low: float
    high: float
    p: float
    n: int

    def text(self) -> str:
        return f"{signed_pp(self.diff)} pp, paired 95% CI {signed_pp(self.low)} to {signed_pp(self.high)}, " \
               f"McNemar {p_is(self.p)}"


class Pairs:
    """Paired comparisons of runs, predictions read once per run."""

    def __init__(self, runs: list[Run], n_boot: int = 1000, seed: int = 0):
        self.runs, self.n_boot, self.seed = {r.row["ref"]: r for r in runs}, n_boot, seed
        self._arrays: dict[str, dict[str, np.ndarray]] = {}

    def arrays(self, ref: str) -> dict[str, np.ndarray]:
        if ref not in self._arrays:
            arrays = arrays_from_records(read_predictions(self.runs[ref].path / PREDICTIONS))
            order = np.argsort(arrays["ids"], kind="stable")
            self._arrays[ref] = {k: v[order] for k, v in arrays.items()}
        return self._arrays[ref]

    def compare(self, a: str, b: str) -> Paired | None:
        x, y = self.arrays(a), self.arrays(b)
        common, ia, ib = np.intersect1d(x["ids"], y["ids"], return_indices=True)
        if not len(common) or not np.array_equal(x["labels"][ia], y["labels"][ib]):
            return None
        r = compare_predictions(x["labels"][ia], x["preds"][ia], y["preds"][ib], n_boot=self.n_boot, seed=self.seed)
        low, high = r["accuracy_diff_ci"]
        return Paired(r["accuracy_diff"], low, high, r["mcnemar_exact_p"], len(common))


def p_is(p: float) -> str:
    text = pval(p)
    return f"p {text[0]} {text[1:]}" if text.startswith("<") else f"p = {text}"


def _quote(row: dict[str, Any], key: str = "accuracy") -> dict[str, str]:
    return {"ref": row["ref"], "key": key, "text": ci(row, key)}


def _acc(row: dict[str, Any], key: str = "accuracy") -> str:
    """'70.2% (95% CI 67.3–73.0)': a table cell in a sentence."""
    interval = bounds(row, key)
    return f"{pct(row.get(key))}%" + (f" (95% CI {interval[1:-1]})" if interval else "")


def _condition(row: dict[str, Any]) -> str:
    return row["degradation"] if row["severity"] is None else f"{row['degradation']} {row['severity']:g}"


def clean_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs on undegraded, unrestored faces."""
    return [r for r in rows if r["degradation"] == NO_DEGRADATION and r["restorer"] == NO_RESTORER
            and r.get("accuracy") is not None]


def findings(runs: list[Run], pairs: Pairs | None = None) -> list[Finding]:
    rows = [r.row for r in runs if r.row.get("accuracy") is not None]
    if not rows:
        return []
    pairs = pairs or Pairs(runs)
    out = [f for f in (_faces(rows), _best(rows, pairs)) if f]
    out += _degradations(rows, pairs)
    out += [f for f in (_restorers(rows, pairs), _leakage(rows), _cost(rows)) if f]
    return out


def _faces(rows: list[dict[str, Any]]) -> Finding | None:
    sets = sorted({(r["dataset"], r["split"], r["n"], r.get("sample_kind") or "") for r in rows}, key=str)
    parts = [f"{count(n)} faces of {ds} {split}" + (f" ({kind})" if kind else "") for ds, split, n, kind in sets]
    return Finding("Faces", "Evaluated on " + "; ".join(parts) + ".")


def _best(rows: list[dict[str, Any]], pairs: Pairs) -> Finding | None:
    clean = sorted(clean_rows(rows), key=lambda r: -r["accuracy"])
    if not clean:
        return None
    best = clean[0]
    if len(clean) == 1:
        return Finding("Best model", f"Only {best['model']} was evaluated on clean faces: {_acc(best)}.",
                       [_quote(best)])
    second = clean[1]
    test = pairs.compare(best["ref"], second["ref"])
    text = f"On clean faces the most accurate model is {best['model']} at {_acc(best)}; the runner-up is " \
           f"{second['model']} at {_acc(second)}."
    if test is not None:
        verdict = "a significant margin" if test.p < 0.05 and test.low > 0 else "a margin within noise"
        text += f" {best['model']} − {second['model']}: {test.text()} ({verdict}, {count(test.n)} paired faces)."
    others = [f"{r['model']} {pct(r['accuracy'])}%" for r in clean[2:]]
    if others:
        text += " Then " + ", ".join(others) + "."
    return Finding("Best model", text, [_quote(r) for r in clean])


def loss_table(rows: list[dict[str, Any]], pairs: Pairs) -> list[dict[str, Any]]:
    """Points each model loses under each degradation and severity (unrestored), against its clean run."""
    clean = {r["model"]: r for r in clean_rows(rows)}
    out = []
    for r in rows:
        if r["degradation"] == NO_DEGRADATION or r["restorer"] != NO_RESTORER or r["model"] not in clean:
            continue
        test = pairs.compare(clean[r["model"]]["ref"], r["ref"])
        if test is not None:
            out.append({"model": r["model"], "degradation": r["degradation"], "severity": r["severity"],
                        "ref": r["ref"], "clean_ref": clean[r["model"]]["ref"], "loss": test.diff,
                        "low": test.low, "high": test.high, "p": test.p})
    return sorted(out, key=lambda x: (x["degradation"], x["severity"] or 0, x["model"]))


def _degradations(rows: list[dict[str, Any]], pairs: Pairs) -> list[Finding]:
    table = loss_table(rows, pairs)
    out = []
    for degradation in dict.fromkeys(x["degradation"] for x in table):
        items = [x for x in table if x["degradation"] == degradation]
        parts = []
        for severity in dict.fromkeys(x["severity"] for x in items):
            level = [x for x in items if x["severity"] == severity]
            losses = ", ".join(f"{x['model']} {pct(x['loss'])} ({pct(x['low'])} to {pct(x['high'])})" for x in level)
            ns = [x for x in level if x["low"] <= 0 <= x["high"]]
            parts.append(f"at severity {severity:g} {losses}"
                         + (f" (not significant for {', '.join(x['model'] for x in ns)})" if ns else ""))
        out.append(Finding(f"{degradation}", f"{degradation} costs, in accuracy points lost against clean faces "
                           f"(paired 95% CI): " + "; ".join(parts) + "."))
    return out


def restorer_table(rows: list[dict[str, Any]], pairs: Pairs) -> list[dict[str, Any]]:
    """Each restored run against the unrestored run of the same model and condition."""
    plain = {(r["model"], r["degradation"], r["severity"]): r for r in rows if r["restorer"] == NO_RESTORER}
    out = []
    for r in rows:
        base = plain.get((r["model"], r["degradation"], r["severity"]))
        if r["restorer"] == NO_RESTORER or base is None:
            continue
        test = pairs.compare(r["ref"], base["ref"])
        if test is not None:
            out.append({"model": r["model"], "condition": _condition(r), "restorer": r["restorer"], "ref": r["ref"],
                        "base_ref": base["ref"], "gain": test.diff, "low": test.low, "high": test.high, "p": test.p})
    alpha = 0.05 / max(1, len(out))
    for x in out:
        x["significant"] = x["p"] < alpha
    return sorted(out, key=lambda x: (x["condition"], x["restorer"], x["model"]))


def _restorers(rows: list[dict[str, Any]], pairs: Pairs) -> Finding | None:
    table = restorer_table(rows, pairs)
    if not table:
        return None
    alpha = 0.05 / len(table)

    def item(x: dict[str, Any]) -> str:
        return f"{x['restorer']} on {x['condition']} for {x['model']} ({signed_pp(x['gain'])} pp, " \
               f"{signed_pp(x['low'])} to {signed_pp(x['high'])}, {p_is(x['p'])})"

    helped = [x for x in table if x["significant"] and x["gain"] > 0]
    hurt = [x for x in table if x["significant"] and x["gain"] < 0]
    text = f"Restoration against the unrestored faces, {len(table)} paired comparisons (McNemar, Bonferroni " \
           f"threshold p < {alpha:.2g}): "
    text += ("it recovers accuracy significantly in " + str(len(helped)) + ": " + "; ".join(map(item, helped))
             if helped else "no restorer recovers a significant amount of accuracy")
    if hurt:
        text += f"; it costs accuracy significantly in {len(hurt)}: " + "; ".join(map(item, hurt))
    best = max(table, key=lambda x: x["gain"])
    if not best["significant"]:
        text += f". The largest gain is {item(best)}"
    applied: dict[str, list[str]] = {}
    for x in table:
        applied.setdefault(x["restorer"], [])
        if x["condition"] not in applied[x["restorer"]]:
            applied[x["restorer"]].append(x["condition"])
    text += ". Each restorer was applied only where it makes sense: " + \
        "; ".join(f"{name} to {', '.join(conditions)}" for name, conditions in applied.items())
    return Finding("Restoration", text + ".")


def _leakage(rows: list[dict[str, Any]]) -> Finding | None:
    clean = [r for r in clean_rows(rows) if r.get("dedup_accuracy") is not None and r.get("dedup_excluded")]
    if not clean:
        return None
    r0 = clean[0]
    parts = []
    for r in clean:
        leaked_n = r["n"] - r["dedup_n"]
        leaked = (r["accuracy"] * r["n"] - r["dedup_accuracy"] * r["dedup_n"]) / leaked_n if leaked_n else None
        parts.append(f"{r['model']} {_acc(r, 'dedup_accuracy')} instead of {pct(r['accuracy'])}% "
                     f"({signed_pp(r['dedup_accuracy'] - r['accuracy'])} pp; {pct(leaked)}% on the leaked faces)")
    text = f"Leakage: {count(r0['dedup_excluded'])} of the {count(r0['n'])} faces have an exact or near twin in " \
           f"Training. Without them, " + "; ".join(parts) + "."
    return Finding("Leakage", text, [_quote(r, "dedup_accuracy") for r in clean] + [_quote(r) for r in clean])


def _cost(rows: list[dict[str, Any]]) -> Finding | None:
    clean = [r for r in clean_rows(rows) if r.get("inference_items_per_s")]
    if len(clean) < 2:
        return None
    fast = max(clean, key=lambda r: r["inference_items_per_s"])
    best = max(clean, key=lambda r: r["accuracy"])
    if fast is best:
        return Finding("Cost", f"{best['model']} is both the most accurate and the fastest model here "
                               f"({best['inference_items_per_s']:.0f} faces/s).")
    ratio = fast["inference_items_per_s"] / best["inference_items_per_s"]
    text = f"Cost: {best['model']} classifies {best['inference_items_per_s']:.1f} faces/s on this machine, " \
           f"{ratio:.0f}× slower than {fast['model']} ({fast['inference_items_per_s']:.0f} faces/s), for " \
           f"{signed_pp(best['accuracy'] - fast['accuracy'])} accuracy points."
    return Finding("Cost", text)
