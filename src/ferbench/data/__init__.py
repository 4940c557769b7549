"""Datasets: readers, the Dataset type, caching, and the duplicate/leakage audit."""

from .dataset import SPLITS, Dataset, canonical_split
from .errors import DataError, OnBad
from .load import load_dataset

__all__ = ["SPLITS", "DataError", "Dataset", "OnBad", "canonical_split", "load_dataset"]
