"""Metrics against hand-computed values and scikit-learn; bootstrap, calibration, McNemar."""

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, f1_score, precision_score, recall_score

from ferbench.metrics import compare_predictions, compute_metrics
from ferbench.emotions import EMOTIONS
from ferbench.metrics.calibration import expected_calibration_error, negative_log_likelihood

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


def test_balanced_accuracy_ignores_a_class_only_predicted_but_macro_f1_counts_it():
    # Class 6 is predicted once but absent from the truth: balanced accuracy is the mean recall over the
    # true classes (0 and 3); the macro averages run over every class present in truth or predictions.
    m = compute_metrics([0, 0, 3, 3], [0, 6, 3, 3], n_boot=0)
    assert m["balanced_accuracy"] == pytest.approx((1 / 2 + 1) / 2)
    assert m["f1_macro"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert m["recall_macro"] == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert m["precision_macro"] == pytest.approx((1 + 1 + 0) / 3)


def test_classes_absent_from_both_do_not_lower_the_macro_averages():
    m = compute_metrics([0, 3, 3], [0, 3, 3], n_boot=0)  # 5 of the 7 classes never appear
    for key in ("f1_macro", "precision_macro", "recall_macro", "balanced_accuracy"):
        assert m[key] == 1.0, key


def test_a_class_seen_once_counts_like_any_other():
    # Class 0 has one sample and no prediction; class 6 one prediction and no sample.
    m = compute_metrics([0, 3, 3], [3, 3, 6], n_boot=0)
    assert m["balanced_accuracy"] == pytest.approx((0 + 1 / 2) / 2)
    assert m["recall_macro"] == pytest.approx((0 + 1 / 2 + 0) / 3)
    assert m["precision_macro"] == pytest.approx((0 + 1 / 2 + 0) / 3)
    m = compute_metrics([0, 3], [0, 6], n_boot=0)  # one prediction of class 0, and it is right
    assert m["per_class"]["angry"]["precision"] == 1.0 and m["precision_macro"] == pytest.approx(1 / 3)


def test_weighted_metrics_weigh_classes_by_their_true_count():
    y = [0] * 8 + [3] * 2
    p = [0] * 10  # the minority class is always missed
    m = compute_metrics(y, p, n_boot=0)
    assert m["recall_weighted"] == pytest.approx(0.8) and m["recall_macro"] == pytest.approx(0.5)
    assert m["precision_weighted"] == pytest.approx(0.8 * 0.8)
    assert m["f1_weighted"] == pytest.approx(0.8 * (2 * 0.8 / 1.8))


def test_nothing_scored():
    m = compute_metrics([0, 3], [-1, -1], np.full((2, 7), 1 / 7), n_boot=0)
    assert m["n_scored"] == 0 and m["n_unscored"] == 2
    assert m["accuracy"] == 0.0 and m["accuracy_scored"] is None
    assert "ece" not in m and "nll" not in m  # no scored prediction to calibrate


def test_calibration_uses_only_scored_rows_with_finite_probabilities():
    proba = np.zeros((4, 7))
    proba[:, 0] = [0.9, 0.8, 0.7, np.nan]
    proba[:, 3] = 1 - proba[:, 0]
    m = compute_metrics([0, 0, 3, 0], [0, -1, 0, 0], proba, n_boot=0)
    # rows 0 and 2 only: row 1 is unscored, row 3 has no probabilities
    assert m["calibration"] == {"ece_bins": 15, "n": 2}
    assert m["nll"] == pytest.approx(-(np.log(0.9) + np.log(0.3)) / 2)
    assert m["ece"] == pytest.approx(expected_calibration_error(proba[[0, 2]], np.array([0, 3])))


@pytest.mark.parametrize("y,p", [([0, 7], [0, 0]), ([0, 0], [0, 7]), ([-1, 0], [0, 0])])
def test_out_of_range_labels_or_predictions_are_refused(y, p):
    with pytest.raises(ValueError, match=r"class indices 0\.\.6 \(predictions may be -1\)"):
        compute_metrics(y, p, n_boot=0)
    with pytest.raises(ValueError, match="3 labels but 2 predictions"):
        compute_metrics([0, 0, 0], [0, 0], n_boot=0)


def test_no_samples_is_refused_rather_than_scored_zero():
    with pytest.raises(ValueError, match="no labelled samples"):
        compute_metrics([], [], n_boot=0)


def test_float_label_arrays_are_read_as_class_indices():
    m = compute_metrics(np.array([0.0, 3.0, 3.0]), np.array([0.0, 3.0, -1.0]), n_boot=10)
    assert m["accuracy"] == pytest.approx(2 / 3) and m["n_unscored"] == 1
    assert compare_predictions(np.array([0.0, 3.0]), np.array([0.0, 3.0]), np.array([0.0, 0.0]))["only_a_correct"] == 1


def test_metrics_json_records_how_the_ci_was_computed():
    m = compute_metrics(Y_TRUE, Y_PRED)
    assert m["bootstrap"] == {"method": "percentile", "resamples": 1000, "seed": 0, "confidence": 0.95}
    assert m["confusion_matrix"]["labels"] == list(EMOTIONS)
    assert m["confusion_matrix"]["columns"] == [*EMOTIONS, "unscored"]
    for key in ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "precision_macro", "recall_macro"):
        low, high = m[f"{key}_ci"]
        assert low <= m[key] <= high, key


def test_every_ci_contains_the_estimate_and_shrinks_with_n():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 7, 100)
    p = np.where(rng.random(100) < 0.6, y, rng.integers(0, 7, 100))
    small = compute_metrics(y, p, n_boot=500, seed=1)
    large = compute_metrics(np.tile(y, 16), np.tile(p, 16), n_boot=500, seed=1)  # same rates, 16x the samples
    for key in ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "precision_macro", "recall_macro"):
        for m in (small, large):
            low, high = m[f"{key}_ci"]
            assert low < m[key] < high, key
        width = lambda m: m[f"{key}_ci"][1] - m[f"{key}_ci"][0]  # noqa: E731
        assert width(large) == pytest.approx(width(small) / 4, rel=0.3), key  # the 1/sqrt(n) law


def test_ci_confidence_level_is_honoured():
    # For a proportion, the percentile bootstrap interval is close to the normal one: ±z·se.
    y = np.zeros(400, dtype=int)
    p = np.where(np.arange(400) % 2 == 0, 0, 3)  # accuracy 0.5
    se = np.sqrt(0.25 / 400)
    for confidence, z in ((0.95, 1.96), (0.5, 0.674)):
        low, high = compute_metrics(y, p, n_boot=4000, confidence=confidence)["accuracy_ci"]
        assert high - low == pytest.approx(2 * z * se, rel=0.12), confidence


def test_two_samples_bootstrap_spans_both_outcomes():
    # One right, one wrong: resamples of two can be all right or all wrong (each 1/4 of the time).
    low, high = compute_metrics([0, 3], [0, 0], n_boot=1000)["accuracy_ci"]
    assert (low, high) == (0.0, 1.0)
    assert compute_metrics([0, 3], [0, -1], n_boot=1000)["balanced_accuracy_ci"] == [0.0, 1.0]


def test_mcnemar_hand_computed():
    # 6 pairs only A gets right, 2 only B, 5 both, 3 neither.
    y = np.zeros(16, dtype=int)
    a = np.array([0] * 6 + [1] * 2 + [0] * 5 + [1] * 3)
    b = np.array([1] * 6 + [0] * 2 + [0] * 5 + [1] * 3)
    r = compare_predictions(y, a, b)
    assert (r["only_a_correct"], r["only_b_correct"], r["both_correct"], r["both_wrong"]) == (6, 2, 5, 3)
    assert r["n"] == 16 and r["accuracy_a"] == pytest.approx(11 / 16) and r["accuracy_b"] == pytest.approx(7 / 16)
    assert r["mcnemar_exact_p"] == pytest.approx(2 * (1 + 8 + 28) / 256)  # two-sided binomial, 8 trials
    assert r["mcnemar_chi2"] == pytest.approx((abs(6 - 2) - 1) ** 2 / 8)
    assert r["mcnemar_chi2_p"] == pytest.approx(0.28884, abs=1e-4)
    assert r["paired_bootstrap"] == {"resamples": 1000, "seed": 0, "confidence": 0.95,
                                     "p_two_sided": r["paired_bootstrap"]["p_two_sided"]}
    assert r == compare_predictions(y, a, b)  # seeded
    low, high = r["accuracy_diff_ci"]
    assert low < r["accuracy_diff"] < high


def test_paired_bootstrap_p_value_and_ci():
    # Two samples, A right on one, B right on none: a resample's difference is 0, 1/2 or 1 with
    # probabilities 1/4, 1/2, 1/4, so P(diff <= 0) = 1/4 and the two-sided p-value is 1/2.
    r = compare_predictions([0, 0], [0, 1], [1, 1], n_boot=2000)
    assert r["paired_bootstrap"]["p_two_sided"] == pytest.approx(0.5, abs=0.06)
    same = compare_predictions([0, 0, 1], [0, 1, 1], [0, 1, 1])
    assert same["paired_bootstrap"]["p_two_sided"] == 1.0 and same["mcnemar_chi2_p"] == 1.0
    assert same["mcnemar_chi2"] == 0.0
    better = compare_predictions(np.zeros(50, int), np.zeros(50, int), np.where(np.arange(50) < 10, 1, 0))
    assert better["paired_bootstrap"]["p_two_sided"] == 0.0  # A never worse in any resample
    # CI width of a difference of proportions (B always wrong, so the difference is A's accuracy)
    y = np.zeros(400, dtype=int)
    a = np.where(np.arange(400) % 2 == 0, 0, 1)
    for confidence, z in ((0.95, 1.96), (0.5, 0.674)):
        low, high = compare_predictions(y, a, np.ones(400, dtype=int), n_boot=4000,
                                        confidence=confidence)["accuracy_diff_ci"]
        assert high - low == pytest.approx(2 * z * np.sqrt(0.25 / 400), rel=0.12), confidence


def test_empty_comparison_reports_zeros():
    r = compare_predictions([], [], [])
    assert r["n"] == 0 and r["accuracy_a"] == 0.0 and r["accuracy_b"] == 0.0 and r["accuracy_diff"] == 0.0
    assert r["accuracy_diff_ci"] == [0.0, 0.0] and r["paired_bootstrap"]["p_two_sided"] == 1.0


def test_ece_bins_are_closed_on_the_right():
    # Four bins (exact edges 0.25, 0.5, 0.75): confidence 0.5 belongs to (0.25, 0.5], 0.6 to (0.5, 0.75].
    proba = np.array([[0.5, 0.5], [0.6, 0.4]])
    y = np.array([0, 1])  # first right, second wrong
    assert expected_calibration_error(proba, y, bins=4) == pytest.approx(0.5 * 0.5 + 0.5 * 0.6)
    # With two bins, 0.5 falls in the first bin, (0, 0.5], on its own.
    assert expected_calibration_error(proba, y, bins=2) == pytest.approx(0.5 * 0.5 + 0.5 * 0.6)


def test_nll_of_a_zero_probability_is_large_but_finite():
    proba = np.array([[1.0, 0.0], [0.5, 0.5]])
    assert negative_log_likelihood(proba, np.array([1, 0])) == pytest.approx((-np.log(1e-12) - np.log(0.5)) / 2)
    assert negative_log_likelihood(proba, np.array([0, 0])) == pytest.approx(np.log(2) / 2)
