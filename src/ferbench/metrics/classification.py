"""Accuracy, balanced accuracy, precision/recall/F1 (macro, weighted, per class), confusion matrix,
calibration, and seeded percentile-bootstrap 95% confidence intervals.

All figures derive from one confusion matrix, so the point estimates and the bootstrap use the same code
(checked against scikit-learn in the tests). A prediction of -1 means "unscored" (e.g. an unparseable VLM
answer): it counts as wrong for accuracy and recall (``n`` is every sample), and ``n_scored`` says how
many were scored. Macro averages run over the classes present in the labels or the predictions.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..emotions import EMOTIONS
from .calibration import expected_calibration_error, negative_log_likelihood

CI_KEYS = ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "precision_macro", "recall_macro")


def confusion(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    """k×(k+1) counts; the last column holds unscored predictions (-1)."""
    pred = np.where(y_pred < 0, k, y_pred)
    return np.bincount(y_true * (k + 1) + pred, minlength=k * (k + 1)).reshape(k, k + 1)


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape, dtype=np.float64), where=b > 0)


def metrics_from_confusion(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Metrics of one (k×(k+1)) or many stacked (B×k×(k+1)) confusion matrices, vectorised."""
    cm = np.asarray(cm, dtype=np.float64)
    k = cm.shape[-2]
    tp = np.diagonal(cm[..., :k], axis1=-2, axis2=-1)
    support = cm.sum(axis=-1)                  # true count per class (incl. unscored)
    predicted = cm[..., :k].sum(axis=-2)       # predicted count per class
    n = support.sum(axis=-1)
    recall = _safe_div(tp, support)
    precision = _safe_div(tp, predicted)
    f1 = _safe_div(2 * precision * recall, precision + recall)
    present = (support > 0) | (predicted > 0)
    in_truth = support > 0
    n_present = present.sum(axis=-1)
    return {
        "accuracy": _safe_div(tp.sum(axis=-1), n),
        "balanced_accuracy": _safe_div((recall * in_truth).sum(axis=-1), in_truth.sum(axis=-1)),
        "precision_macro": _safe_div((precision * present).sum(axis=-1), n_present),
        "recall_macro": _safe_div((recall * present).sum(axis=-1), n_present),
        "f1_macro": _safe_div((f1 * present).sum(axis=-1), n_present),
        "precision_weighted": _safe_div((precision * support).sum(axis=-1), n),
        "recall_weighted": _safe_div((recall * support).sum(axis=-1), n),
        "f1_weighted": _safe_div((f1 * support).sum(axis=-1), n),
        "precision": precision, "recall": recall, "f1": f1, "support": support,
    }


def bootstrap_confusions(y_true: np.ndarray, y_pred: np.ndarray, k: int, n_boot: int, seed: int,
                         index: np.ndarray | None = None) -> np.ndarray:
    """B confusion matrices of seeded resamples (with replacement) of the samples."""
    n = len(y_true)
    if index is None:
        index = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    code = y_true * (k + 1) + np.where(y_pred < 0, k, y_pred)
    flat = (np.arange(len(index))[:, None] * (k * (k + 1)) + code[index]).ravel()
    return np.bincount(flat, minlength=len(index) * k * (k + 1)).reshape(len(index), k, k + 1)


def compute_metrics(y_true: Sequence[int], y_pred: Sequence[int], proba: np.ndarray | None = None,
                    classes: Sequence[str] = EMOTIONS, n_boot: int = 1000, seed: int = 0,
                    confidence: float = 0.95) -> dict[str, Any]:
    """The metrics.json content: top-level numeric keys, ``<key>_ci: [low, high]``, per-class tables."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    k = len(classes)
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} labels but {len(y_pred)} predictions")
    if not len(y_true):  # an accuracy of 0 at n = 0 would be a made-up figure
        raise ValueError("no labelled samples to compute metrics on")
    if y_true.min() < 0 or y_true.max() >= k or y_pred.max() >= k:
        raise ValueError(f"labels and predictions must be class indices 0..{k - 1} (predictions may be -1)")
    cm = confusion(y_true, y_pred, k)
    point = metrics_from_confusion(cm)
    out: dict[str, Any] = {"n": int(len(y_true)), "n_scored": int(np.count_nonzero(y_pred >= 0))}
    out["n_unscored"] = out["n"] - out["n_scored"]
    for key in ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "precision_macro", "recall_macro",
                "precision_weighted", "recall_weighted"):
        out[key] = float(point[key])
    scored = y_pred >= 0
    # among answered samples only; none answered: not available (None), never a made-up 0
    out["accuracy_scored"] = float(np.mean(y_pred[scored] == y_true[scored])) if scored.any() else None
    if n_boot:
        boots = metrics_from_confusion(bootstrap_confusions(y_true, y_pred, k, n_boot, seed))
        alpha = (1 - confidence) / 2
        for key in CI_KEYS:
            low, high = np.quantile(boots[key], [alpha, 1 - alpha])
            out[f"{key}_ci"] = [float(low), float(high)]
        out["bootstrap"] = {"method": "percentile", "resamples": n_boot, "seed": seed, "confidence": confidence}
    out["per_class"] = {
        c: {"precision": float(point["precision"][i]), "recall": float(point["recall"][i]),
            "f1": float(point["f1"][i]), "support": int(point["support"][i])}
        for i, c in enumerate(classes)
    }
    out["confusion_matrix"] = {"labels": list(classes), "columns": [*classes, "unscored"], "matrix": cm.tolist()}
    if proba is not None and scored.any():
        proba = np.asarray(proba, dtype=np.float64)
        usable = scored & np.isfinite(proba).all(axis=1)
        if usable.any():
            out["ece"] = float(expected_calibration_error(proba[usable], y_true[usable]))
            out["nll"] = float(negative_log_likelihood(proba[usable], y_true[usable]))
            out["calibration"] = {"ece_bins": 15, "n": int(usable.sum())}
    return out
