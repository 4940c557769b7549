"""Duplicate/leakage audit on synthetic data with planted duplicates, and the clean split."""

import imagehash
import numpy as np
from PIL import Image

from conftest import synthetic_faces, write_fer_csv
from ferbench.data import load_dataset
from ferbench.data.audit import audit, clean_split, phash


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
