"""Paired comparison of two runs on the same samples: McNemar's test and a paired bootstrap."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import binomtest, chi2


def compare_predictions(y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, n_boot: int = 1000,
                        seed: int = 0, confidence: float = 0.95) -> dict[str, Any]:
    """McNemar (exact binomial on the discordant pairs, plus the continuity-corrected chi-square) and a
    seeded paired bootstrap of accuracy(A) - accuracy(B). Unscored predictions (-1) count as wrong."""
    y_true, pred_a, pred_b = (np.asarray(x, dtype=np.int64) for x in (y_true, pred_a, pred_b))
    a_ok, b_ok = pred_a == y_true, pred_b == y_true
    only_a = int(np.count_nonzero(a_ok & ~b_ok))
    only_b = int(np.count_nonzero(~a_ok & b_ok))
    discordant = only_a + only_b
    exact_p = float(binomtest(only_a, discordant, 0.5).pvalue) if discordant else 1.0
    chi_sq = (abs(only_a - only_b) - 1) ** 2 / discordant if discordant else 0.0
    rng = np.random.default_rng(seed)
    n = len(y_true)
    index = rng.integers(0, n, size=(n_boot, n))
    diffs = (a_ok[index].mean(axis=1) - b_ok[index].mean(axis=1)) if n else np.zeros(1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(diffs, [alpha, 1 - alpha])
    return {
        "n": n, "accuracy_a": float(a_ok.mean()) if n else 0.0, "accuracy_b": float(b_ok.mean()) if n else 0.0,
        "accuracy_diff": float(a_ok.mean() - b_ok.mean()) if n else 0.0,
        "accuracy_diff_ci": [float(low), float(high)],
        "both_correct": int(np.count_nonzero(a_ok & b_ok)), "both_wrong": int(np.count_nonzero(~a_ok & ~b_ok)),
        "only_a_correct": only_a, "only_b_correct": only_b,
        "mcnemar_exact_p": exact_p,
        "mcnemar_chi2": float(chi_sq), "mcnemar_chi2_p": float(chi2.sf(chi_sq, 1)) if discordant else 1.0,
        "paired_bootstrap": {"resamples": n_boot, "seed": seed, "confidence": confidence,
                             "p_two_sided": float(min(1.0, 2 * min((diffs <= 0).mean(), (diffs >= 0).mean())))},
    }
