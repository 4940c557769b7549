"""Property tests of the leakage audit: row order never changes the groups; a test face copied into
Training is always reported as leaked."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from ferbench.data import Dataset
from ferbench.data.audit import BLANK_STD, NEAR_THRESHOLD, audit, phash

FAST = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
SPLIT_NAMES = ("Training", "PublicTest", "PrivateTest")


@st.composite
def datasets(draw):
    """A small dataset whose rows are drawn from a few distinct smooth faces, so that exact and near
    (one-pixel shifted) twins occur within and across splits."""
    n_faces = draw(st.integers(2, 8))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, size=(n_faces, 8, 8)).astype(np.uint8)
    faces = np.stack([np.asarray(Image.fromarray(b).resize((32, 32), Image.BICUBIC)) for b in base])
    n = draw(st.integers(2, 24))
    which = draw(st.lists(st.integers(0, n_faces - 1), min_size=n, max_size=n))
    shift = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    images = np.stack([np.roll(faces[w], 1, axis=1) if s else faces[w] for w, s in zip(which, shift)])
    splits = draw(st.lists(st.sampled_from(SPLIT_NAMES), min_size=n, max_size=n))
    labels = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    return Dataset(images=images, labels=np.array(labels, dtype=np.int64), splits=np.array(splits),
                   ids=np.array([str(i) for i in range(n)]), source="mem", source_hash="h")


def _take(ds: Dataset, order) -> Dataset:
    return Dataset(images=ds.images[order], labels=ds.labels[order], splits=ds.splits[order], ids=ds.ids[order],
                   source=ds.source, source_hash=ds.source_hash)


def _groups(report, kind):
    return sorted(tuple(sorted(g["ids"], key=int)) for g in report[kind]["group_list"])


def _counts(report, kind):
    return {k: v for k, v in report[kind].items() if k != "group_list"}


@FAST
@given(datasets(), st.randoms(use_true_random=False))
def test_row_order_never_changes_the_groups(ds, random):
    order = list(range(len(ds)))
    random.shuffle(order)
    a, b = audit(ds), audit(_take(ds, np.array(order)))
    for kind in ("exact", "near"):
        assert _groups(a, kind) == _groups(b, kind)
        assert _counts(a, kind) == _counts(b, kind)
        for g in b[kind]["group_list"]:  # each group lists its rows in the order of the dataset
            positions = [order.index(int(i)) for i in g["ids"]]
            assert positions == sorted(positions)
    assert a["leaked_ids"] == b["leaked_ids"]
    assert sorted(a["blank"]["ids"]) == sorted(b["blank"]["ids"])


@FAST
@given(datasets(), st.integers(0, 10**6), st.booleans())
def test_a_test_face_copied_into_training_is_always_leaked(ds, pick, shifted):
    tests = np.flatnonzero(ds.splits != "Training")
    if not len(tests):
        return
    row = int(tests[pick % len(tests)])
    twin = np.roll(ds.images[row], 1, axis=1) if shifted else ds.images[row]  # near or exact copy
    distance = int(np.bitwise_count(phash(twin[None])[0] ^ phash(ds.images[row][None])[0]))
    if shifted and (distance > NEAR_THRESHOLD or min(twin.std(), ds.images[row].std()) < BLANK_STD):
        return  # not a near twin by the audit's definition
    grown = Dataset(images=np.concatenate([ds.images, twin[None]]), labels=np.append(ds.labels, 0),
                    splits=np.append(ds.splits, "Training"), ids=np.append(ds.ids, "copy"),
                    source=ds.source, source_hash=ds.source_hash)
    report = audit(grown)
    assert ds.ids[row] in report["leaked_ids"][ds.splits[row]]
    before = audit(ds)["leaked_ids"]
    for split, ids in before.items():  # adding a Training row never un-leaks anything
        assert set(ids) <= set(report["leaked_ids"][split])
