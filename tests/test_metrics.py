"""Metrics against hand-computed values and scikit-learn; bootstrap, calibration, McNemar."""

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score, precision_score, recall_score

from ferbench.metrics import compare_predictions, compute_metrics
from ferbench.metrics.calibration import expected_calibration_error

# 10 samples, 3 classes used (angry=0, happy=3, neutral=6).
Y_TRUE = [0, 0, 0, 3, 3, 3, 3, 6, 6, 6]
Y_PRED = [0, 0, 3, 3, 3, 3, 6, 6, 6, 0]


def test_hand_computed_values():
    m = compute_metrics(Y_TRUE, Y_PRED, n_boot=0)
    assert m["n"] == 10 and m["n_scored"] == 10
    assert m["accuracy"] == pytest.approx(7 / 10)
    # Recalls: angry 2/3, happy 3/4, neutral 2/3. Precisions: angry 2/3, happy 3/4, neutral 2/3.
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 3 / 4 + 2 / 3) / 3)
    assert m["per_class"]["happy"] == {"precision": pytest.approx(0.75), "recall": pytest.approx(0.75),
                                       "f1": pytest.approx(0.75), "support": 4}
    assert m["f1_macro"] == pytest.approx((2 / 3 + 3 / 4 + 2 / 3) / 3)
    assert m["f1_weighted"] == pytest.approx((3 * 2 / 3 + 4 * 0.75 + 3 * 2 / 3) / 10)
    assert m["confusion_matrix"]["matrix"][0][:7] == [2, 0, 0, 1, 0, 0, 0]
    assert m["per_class"]["disgust"]["support"] == 0


def test_agrees_with_sklearn_on_random_data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 7, 500)
    p = np.where(rng.random(500) < 0.6, y, rng.integers(0, 7, 500))
    m = compute_metrics(y, p, n_boot=0)
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, p))
    for avg in ("macro", "weighted"):
        assert m[f"f1_{avg}"] == pytest.approx(f1_score(y, p, average=avg))
        assert m[f"precision_{avg}"] == pytest.approx(precision_score(y, p, average=avg))
        assert m[f"recall_{avg}"] == pytest.approx(recall_score(y, p, average=avg))


def test_unscored_predictions_count_as_wrong():
    m = compute_metrics([0, 3, 3, 6], [0, -1, 3, -1], n_boot=0)
    assert m["n"] == 4 and m["n_scored"] == 2 and m["n_unscored"] == 2
    assert m["accuracy"] == pytest.approx(0.5) and m["accuracy_scored"] == pytest.approx(1.0)
    assert m["confusion_matrix"]["matrix"][3][7] == 1  # the unscored column


def test_bootstrap_ci_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 7, 300)
    p = np.where(rng.random(300) < 0.7, y, rng.integers(0, 7, 300))
    a = compute_metrics(y, p, n_boot=1000, seed=3)
    b = compute_metrics(y, p, n_boot=1000, seed=3)
    c = compute_metrics(y, p, n_boot=1000, seed=4)
    assert a["accuracy_ci"] == b["accuracy_ci"] and a["accuracy_ci"] != c["accuracy_ci"]
    low, high = a["accuracy_ci"]
    assert low < a["accuracy"] < high
    # The normal approximation of a proportion's 95% CI is close to the percentile bootstrap.
    se = np.sqrt(a["accuracy"] * (1 - a["accuracy"]) / 300)
    assert high - low == pytest.approx(2 * 1.96 * se, rel=0.15)
    assert a["bootstrap"]["resamples"] == 1000


def test_ece():
    proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    y = np.array([0, 1, 0, 0])
    # Bin 0.9: accuracy 0.5, confidence 0.9 -> 0.4 * 0.5; bin 0.6: accuracy 1.0, confidence 0.6 -> 0.4 * 0.5.
    assert expected_calibration_error(proba, y) == pytest.approx(0.4)
    full = np.zeros((4, 7))
    full[:, 0], full[:, 3] = proba[:, 0], proba[:, 1]
    m = compute_metrics([0, 3, 0, 0], [0, 0, 0, 0], full, n_boot=0)
    assert m["ece"] == pytest.approx(0.4)


def test_mcnemar_and_paired_bootstrap():
    y = np.zeros(100, dtype=int)
    a = np.zeros(100, dtype=int)            # A always right
    b = np.where(np.arange(100) < 20, 1, 0)  # B wrong on 20
    r = compare_predictions(y, a, b, n_boot=1000, seed=0)
    assert r["only_a_correct"] == 20 and r["only_b_correct"] == 0
    assert r["mcnemar_exact_p"] == pytest.approx(2 * 0.5 ** 20)
    assert r["accuracy_diff"] == pytest.approx(0.2)
    assert r["accuracy_diff_ci"][0] > 0
    same = compare_predictions(y, a, a)
    assert same["mcnemar_exact_p"] == 1.0 and same["accuracy_diff_ci"] == [0.0, 0.0]
