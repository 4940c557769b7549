"""Property tests: ferbench's metrics against scikit-learn on random label vectors with missing classes,
unscored (-1) predictions, and the vectorised bootstrap against one-at-a-time recomputation."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from ferbench.metrics import compute_metrics, metrics_from_confusion
from ferbench.metrics.calibration import expected_calibration_error, negative_log_likelihood
from ferbench.metrics.classification import bootstrap_confusions, confusion

K = 7
# Derandomized: the same examples on every run, so CI is deterministic; the whole file runs in a few seconds.
FAST = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])


@st.composite
def label_vectors(draw, unscored: bool = True):
    """(y_true, y_pred): each drawn from its own random subset of the 7 classes, so some classes are absent
    from the truth, some from the predictions and some from both; predictions may be -1 (unscored)."""
    n = draw(st.integers(1, 40))
    true_classes = draw(st.lists(st.integers(0, K - 1), min_size=1, max_size=K, unique=True))
    pred_classes = draw(st.lists(st.integers(-1 if unscored else 0, K - 1), min_size=1, max_size=K + 1, unique=True))
    y = draw(st.lists(st.sampled_from(true_classes), min_size=n, max_size=n))
    p = draw(st.lists(st.sampled_from(pred_classes), min_size=n, max_size=n))
    return np.array(y), np.array(p)


def _sk(fn, y, p, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns about classes absent from y_true or y_pred
        return fn(y, p, **kw)


@settings(FAST, max_examples=100)
@given(label_vectors())
def test_metrics_match_sklearn(yp):
    y, p = yp
    m = compute_metrics(y, p, n_boot=0)
    # scikit-learn's macro average runs over the labels it is given: those present in truth or (scored)
    # predictions, as ferbench does. An unscored prediction is a wrong answer for every class.
    labels = sorted(set(y.tolist()) | set(p[p >= 0].tolist()))
    assert m["n"] == len(y) and m["n_scored"] == int((p >= 0).sum()) and m["n_unscored"] == int((p < 0).sum())
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, p))
    assert m["balanced_accuracy"] == pytest.approx(_sk(skm.balanced_accuracy_score, y, p))
    for avg in ("macro", "weighted"):
        for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
            expected = _sk(fn, y, p, labels=labels, average=avg, zero_division=0)
            assert m[f"{name}_{avg}"] == pytest.approx(expected), f"{name}_{avg}"
    per_class = {name: _sk(fn, y, p, labels=list(range(K)), average=None, zero_division=0)
                 for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score),
                                  ("f1", skm.f1_score))}
    for i, row in enumerate(m["per_class"].values()):
        assert row["precision"] == pytest.approx(per_class["precision"][i])
        assert row["recall"] == pytest.approx(per_class["recall"][i])
        assert row["f1"] == pytest.approx(per_class["f1"][i])
        assert row["support"] == int((y == i).sum())
    cm = np.array(m["confusion_matrix"]["matrix"])
    np.testing.assert_array_equal(cm[:, :K], skm.confusion_matrix(y, p, labels=list(range(K))))
    np.testing.assert_array_equal(cm[:, K], np.bincount(y[p < 0], minlength=K))  # the unscored column


@FAST
@given(label_vectors(), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_bootstrap_confusions_are_the_confusions_of_the_resamples(yp, n_boot, seed):
    y, p = yp
    index = np.random.default_rng(seed).integers(0, len(y), size=(n_boot, len(y)))
    boots = bootstrap_confusions(y, p, K, n_boot, seed=0, index=index)
    for b, idx in enumerate(index):
        np.testing.assert_array_equal(boots[b], confusion(y[idx], p[idx], K))
    # and without an explicit index, the seed alone decides the resamples
    np.testing.assert_array_equal(bootstrap_confusions(y, p, K, n_boot, seed), bootstrap_confusions(y, p, K, n_boot, seed))


@FAST
@given(st.lists(label_vectors(), min_size=1, max_size=4))
def test_stacked_metrics_equal_one_at_a_time(vectors):
    """The bootstrap computes the metrics of many confusion matrices at once: each must equal its own."""
    stack = np.stack([confusion(y, p, K) for y, p in vectors])
    together = metrics_from_confusion(stack)
    for b in range(len(stack)):
        alone = metrics_from_confusion(stack[b])
        for key, value in alone.items():
            np.testing.assert_allclose(together[key][b], value, err_msg=key)


@st.composite
def probabilities(draw):
    n = draw(st.integers(1, 30))
    k = draw(st.integers(2, K))
    raw = np.array(draw(st.lists(st.lists(st.floats(0.01, 1.0), min_size=k, max_size=k), min_size=n, max_size=n)))
    y = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    return raw / raw.sum(axis=1, keepdims=True), y


def _ece_reference(proba, y, bins):
    """Top-label ECE with equal-width bins (lo, hi], written plainly."""
    conf, correct = proba.max(axis=1), proba.argmax(axis=1) == y
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        mask = (conf > lo) & (conf <= hi) if b else conf <= hi
        if mask.any():
            total += mask.sum() / len(y) * abs(correct[mask].mean() - conf[mask].mean())
    return total


@FAST
@given(probabilities(), st.integers(1, 20))
def test_ece_and_nll_match_plain_definitions(py, bins):
    proba, y = py
    # Confidences exactly on a bin edge are where floating-point binning may differ: leave those out.
    conf = proba.max(axis=1)[:, None]
    for b in (bins, 15):
        if np.isclose(conf, np.arange(b + 1)[None, :] / b, rtol=0, atol=1e-9).any():
            return
    assert expected_calibration_error(proba, y, bins) == pytest.approx(_ece_reference(proba, y, bins))
    assert expected_calibration_error(proba, y) == pytest.approx(_ece_reference(proba, y, 15))  # 15 bins by default
    assert negative_log_likelihood(proba, y) == pytest.approx(_sk(skm.log_loss, y, proba, labels=list(range(proba.shape[1]))))
