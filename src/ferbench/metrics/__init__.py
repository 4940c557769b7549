"""Classification metrics with bootstrap confidence intervals, calibration, and paired comparisons."""

from .classification import compute_metrics, metrics_from_confusion
from .compare import compare_predictions

__all__ = ["compare_predictions", "compute_metrics", "metrics_from_confusion"]
