"""Calibration: expected calibration error (equal-width confidence bins) and negative log-likelihood."""

from __future__ import annotations

import numpy as np


def expected_calibration_error(proba: np.ndarray, y_true: np.ndarray, bins: int = 15) -> float:
    """Top-label ECE (Guo et al. 2017): sum over bins of |accuracy - confidence| weighted by bin size."""
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y_true
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def negative_log_likelihood(proba: np.ndarray, y_true: np.ndarray, eps: float = 1e-12) -> float:
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y_true)), y_true], eps, 1.0))))
