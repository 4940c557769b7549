"""Checks against the real FER-2013 files in ../shared (skipped when absent)."""

import pytest

from conftest import SHARED_CSV, SHARED_FERPLUS, needs_shared
from ferbench.data import load_dataset
from ferbench.data.audit import audit
from ferbench.data.ferplus import apply_ferplus

pytestmark = [needs_shared(SHARED_CSV), pytest.mark.shared]

# Published per-split class counts (../shared/data/README.md), FER order.
TRAINING = [3995, 436, 4097, 7215, 4830, 3171, 4965]
PUBLIC = [467, 56, 496, 895, 653, 415, 607]


@pytest.fixture(scope="module")
def fer():
    return load_dataset(SHARED_CSV)


def test_counts_and_hash(fer):
    assert fer.source_hash == "797618011b8962f286b4dab61b6d9caf71319722acc2490afe94c823917f3736"
    counts = fer.counts()
    assert list(counts["Training"].values()) == TRAINING
    assert list(counts["PublicTest"].values()) == PUBLIC


def test_exact_duplicate_figures_match_the_data_readme(fer):
    r = audit(fer, with_groups=False)
    assert r["exact"]["groups"] == 1271 and r["exact"]["rows"] == 2801
    assert r["exact"]["conflicting_label_groups"] == 47
    assert r["exact"]["cross_split_groups"] == {"Training/PublicTest": 270}
    assert r["exact"]["test_rows_with_training_twin"] == {"PublicTest": 280}
    assert r["blank"]["rows"] == 13
    assert r["near"]["test_rows_with_training_twin"]["PublicTest"] >= 280


@needs_shared(SHARED_FERPLUS)
def test_ferplus_join(fer):
    ds = apply_ferplus(fer, SHARED_FERPLUS, "majority")
    excluded = ds.report["ferplus_excluded"]
    assert len(ds) + sum(excluded.values()) == len(fer)
    assert excluded["dropped by FER+"] > 100
