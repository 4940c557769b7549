"""Duplicate/leakage audit on synthetic data with planted duplicates, and the clean split."""

import imagehash
import numpy as np
from PIL import Image

from conftest import synthetic_faces, write_fer_csv
from ferbench.data import Dataset, load_dataset
from ferbench.data.audit import audit, clean_split, near_pairs, phash


def test_phash_matches_imagehash():
    images, _ = synthetic_faces(5)
    ours = phash(images)
    for img, h in zip(images, ours):
        assert format(int(h), "016x") == str(imagehash.phash(Image.fromarray(img)))


def _planted(tmp_path):
    rng = np.random.default_rng(3)
    # Smooth random images, so that a one-pixel shift keeps the perceptual hash close.
    base = rng.integers(0, 255, size=(40, 12, 12)).astype(np.uint8)
    images = np.stack([np.asarray(Image.fromarray(b).resize((48, 48), Image.BICUBIC)) for b in base])
    labels = np.arange(40) % 7
    usages = ["Training"] * 30 + ["PublicTest"] * 5 + ["PrivateTest"] * 5
    images[31] = images[2]                        # exact: PublicTest row 31 == Training row 2
    labels[31] = (labels[2] + 1) % 7              # ... with a conflicting label
    images[36] = images[31]                       # and the same face again in PrivateTest
    images[5], labels[5] = images[4], labels[4]   # exact, within Training only, same label
    images[33] = np.roll(images[10], 1, axis=1)   # near: shifted copy of Training row 10
    images[20] = 0
    images[21] = 0                                # two blank images
    return write_fer_csv(tmp_path / "planted.csv", images, labels, usages)


def test_planted_duplicates_are_found(tmp_path):
    ds = load_dataset(_planted(tmp_path))
    r = audit(ds)
    assert r["exact"]["groups"] == 3 and r["exact"]["rows"] == 7  # {2,31,36}, {4,5}, {20,21}
    assert r["exact"]["conflicting_label_groups"] == 2  # {2,31,36} and the blank pair (labels 6, 0)
    assert r["exact"]["cross_split_groups"] == {"Training/PublicTest/PrivateTest": 1}
    assert r["exact"]["test_rows_with_training_twin"] == {"PrivateTest": 1, "PublicTest": 1}
    assert r["near"]["test_rows_with_training_twin"]["PublicTest"] == 2  # 31 and the shifted 33
    assert r["blank"]["rows"] == 2 and r["blank"]["ids"] == ["20", "21"]
    assert r["leaked_ids"] == {"PublicTest": ["31", "33"], "PrivateTest": ["36"]}
    exact_only = audit(ds, threshold=0)
    assert exact_only["leaked_ids"]["PublicTest"] == ["31"]
    clean = clean_split(ds, r)
    assert clean["splits"]["PublicTest"]["kept"] == ["30", "32", "34"]
    assert clean["splits"]["PrivateTest"]["excluded"] == ["36"]
    assert clean["source_sha256"] == ds.source_hash


def _smooth_faces(n, seed=0, size=48):
    """Random smooth faces: distinct perceptual hashes, robust to a one-pixel shift."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, size=(n, 12, 12)).astype(np.uint8)
    return np.stack([np.asarray(Image.fromarray(b).resize((size, size), Image.BICUBIC)) for b in base])


def _dataset(images, splits, labels=None, ids=None):
    n = len(images)
    return Dataset(images=np.asarray(images, dtype=np.uint8),
                   labels=np.asarray(labels if labels is not None else np.arange(n) % 7, dtype=np.int64),
                   splits=np.asarray(splits, dtype=str), ids=np.asarray(ids or [str(i) for i in range(n)], dtype=str),
                   source="mem", source_hash="h")


def test_leak_rules_follow_the_order_training_publictest_privatetest():
    faces = _smooth_faces(10)
    images = np.concatenate([faces, faces[[0, 1, 2, 3, 3]]])
    splits = (["Training"] * 2 + ["PublicTest"] * 2 + ["PrivateTest"] * 6
              + ["PrivateTest", "PublicTest", "PrivateTest", "Training", "Training"])
    # 10 = twin of Training 0 (PrivateTest: leaked); 11 = twin of Training 1 (PublicTest: leaked);
    # 12 (PrivateTest) = twin of PublicTest 2: leaked, because PublicTest selects models;
    # PublicTest 3 has twins only in Training rows 13, 14 added after it: leaked (order of rows is irrelevant);
    # PrivateTest rows 4..9 have no twin.
    r = audit(_dataset(images, splits))
    assert r["leaked_ids"] == {"PublicTest": ["3", "11"], "PrivateTest": ["10", "12"]}
    assert r["exact"]["test_rows_with_training_twin"] == {"PrivateTest": 1, "PublicTest": 2}  # 12 has none
    assert r["exact"]["cross_split_groups"] == {"PublicTest/PrivateTest": 1, "Training/PublicTest": 2,
                                                "Training/PrivateTest": 1}
    assert r["exact"]["cross_split_groups_total"] == 4
    assert r["splits"] == {"Training": 4, "PublicTest": 3, "PrivateTest": 8}
    groups = sorted(g["ids"] for g in r["exact"]["group_list"])
    assert groups == [["0", "10"], ["1", "11"], ["2", "12"], ["3", "13", "14"]]
    rec = next(g for g in r["exact"]["group_list"] if g["ids"] == ["2", "12"])
    assert rec == {"ids": ["2", "12"], "labels": [2, 5], "splits": ["PublicTest", "PrivateTest"]}
    assert r["near"]["group_list"] == r["exact"]["group_list"]  # exact twins are near twins too
    assert audit(_dataset(images, splits), with_groups=False)["exact"].get("group_list") is None


def test_twins_within_one_split_or_only_after_it_are_not_leaks():
    faces = _smooth_faces(6, seed=1)
    images = faces[[0, 0, 1, 1, 2, 2, 3, 4, 5]]
    splits = ["Training", "Training", "PublicTest", "PublicTest", "PrivateTest", "PrivateTest",
              "Training", "PublicTest", "PrivateTest"]
    r = audit(_dataset(images, splits))
    assert r["leaked_ids"] == {"PublicTest": [], "PrivateTest": []}
    assert r["exact"]["groups"] == 3 and r["exact"]["cross_split_groups"] == {}
    # a PublicTest face whose twin is in PrivateTest: the PrivateTest copy is the leak, not the PublicTest one
    r = audit(_dataset(faces[[0, 1, 1]], ["Training", "PublicTest", "PrivateTest"]))
    assert r["leaked_ids"] == {"PublicTest": [], "PrivateTest": ["2"]}


def test_other_split_names_count_training_twins_as_leaks():
    faces = _smooth_faces(4, seed=2)
    # Folder datasets may keep split names like "test": for them the earlier split is Training.
    ds = _dataset(faces[[0, 1, 0, 2]], ["Training", "test", "test", "test"],
                  ids=["Training/a.png", "test/b.png", "test/c.png", "test/d.png"])
    r = audit(ds)
    assert r["leaked_ids"] == {"test": ["test/c.png"]}
    assert clean_split(ds, r)["splits"]["test"] == {"kept": ["test/b.png", "test/d.png"], "excluded": ["test/c.png"]}


def test_leaked_ids_are_sorted_as_row_numbers():
    faces = _smooth_faces(12, seed=3)
    images = np.concatenate([faces[:11], faces[[9]], faces[[10]]])
    splits = ["PublicTest"] * 11 + ["Training"] * 2
    r = audit(_dataset(images, splits))
    assert r["leaked_ids"]["PublicTest"] == ["9", "10"]  # not "10" before "9"


def test_near_threshold_is_inclusive():
    hashes = np.array([0, 0b111, 0b1111, 2**64 - 1, 2**63], dtype=np.uint64)
    # distances: 0-1: 3, 0-2: 4, 1-2: 1, 0-4: 1, 1-4: 4, 2-4: 5, 3-x: 64 - popcount
    for chunk in (1, 2, 2048):
        rows, cols = near_pairs(hashes, threshold=4, chunk=chunk)
        assert sorted(zip(rows.tolist(), cols.tolist())) == [(0, 1), (0, 2), (0, 4), (1, 2), (1, 4)]
        rows, cols = near_pairs(hashes, threshold=3, chunk=chunk)
        assert sorted(zip(rows.tolist(), cols.tolist())) == [(0, 1), (0, 4), (1, 2)]
    rows, cols = near_pairs(hashes, threshold=0)
    assert len(rows) == 0 and len(cols) == 0


def test_blank_threshold_and_blank_faces_never_join_near_groups():
    flat = np.full((48, 48), 100, dtype=np.uint8)
    edge = flat.copy()
    edge[:, 24:] = 104  # pixel std exactly 2.0: not blank (blank is std < 2.0)
    faint = flat.copy()
    faint[:, 24:] = 102  # std 1.0: blank, with the same perceptual hash as ``edge``
    assert (phash(edge[None]) == phash(faint[None])).all()
    r = audit(_dataset(np.stack([edge, faint, flat]), ["Training", "PublicTest", "PrivateTest"]))
    assert r["blank"]["ids"] == ["1", "2"] and r["blank"]["rule"] == "pixel std < 2.0"
    assert r["near"]["groups"] == 0 and r["leaked_ids"] == {"PublicTest": [], "PrivateTest": []}


def test_phash_of_colour_and_flat_images_matches_imagehash():
    rgb = np.stack([_smooth_faces(3, seed=4)[i] for i in range(3)], axis=-1)[None]
    rgb = np.concatenate([rgb, rgb[:, ::-1]])
    for img, h in zip(rgb, phash(rgb)):
        assert format(int(h), "016x") == str(imagehash.phash(Image.fromarray(img)))
    flat = np.full((1, 48, 48), 77, dtype=np.uint8)  # ties at the median: only the DC bit is set
    assert format(int(phash(flat)[0]), "016x") == str(imagehash.phash(Image.fromarray(flat[0]))) == "8000000000000000"


def test_report_names_its_source_and_clean_split_its_rule(tmp_path):
    ds = load_dataset(_planted(tmp_path))
    r = audit(ds)
    assert (r["source"], r["source_sha256"], r["fingerprint"], r["n"]) == (ds.source, ds.source_hash,
                                                                          ds.fingerprint, 40)
    assert r["near"]["method"] == "phash-64 (imagehash-compatible)" and r["near"]["max_hamming"] == 6
    assert clean_split(ds, r)["rule"] == ("no exact or phash<=6 twin in an earlier split (Training; for PrivateTest "
                                          "also PublicTest)")
