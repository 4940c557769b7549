"""Degradations: five severities each, seeded and deterministic, growing with severity."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import synthetic_faces
from ferbench.data import Dataset
from ferbench.degrade import SEVERITIES, degrade_images, list_degradations, severity_table

NAMES = list_degradations()  # every registered degradation is tested by construction
RANDOM = {"gaussian_noise", "occlusion"}  # the ones that draw from the seeded generator


def faces(n=12, seed=0):
    images, _ = synthetic_faces(n, seed=seed)
    return images + np.random.default_rng(seed).integers(0, 25, images.shape, dtype=np.uint8)


def dataset(n=12):
    images, labels = synthetic_faces(n)
    return Dataset(images=images, labels=labels.astype(np.int64), splits=np.array(["Training"] * n),
                   ids=np.array([str(i) for i in range(n)]), source="synthetic", source_hash="0" * 64)


def test_every_degradation_is_registered_with_five_levels():
    assert len(NAMES) >= 7 and RANDOM <= set(NAMES)
    table = severity_table()
    for name in NAMES:
        assert list(table[name]["levels"]) == list(SEVERITIES) and table[name]["unit"]


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_at_every_severity(name):
    images = faces()
    for severity in SEVERITIES:
        a = degrade_images(images, name, severity, seed=3)
        assert a.dtype == np.uint8 and a.shape == images.shape
        assert np.array_equal(a, degrade_images(images, name, severity, seed=3))
        # per image: independent of batch order and of the other images in the batch
        assert np.array_equal(a[::-1], degrade_images(images[::-1], name, severity, seed=3))
        assert np.array_equal(a[5:7], degrade_images(images[5:7], name, severity, seed=3))
        other = degrade_images(images, name, severity, seed=4)
        assert np.array_equal(a, other) == (name not in RANDOM), f"{name}@{severity}: seed should matter iff random"


@pytest.mark.parametrize("name", NAMES)
def test_damage_grows_with_severity_and_zero_is_clean(name):
    images = faces(32)
    assert np.array_equal(degrade_images(images, name, 0), images)
    damage = [np.abs(degrade_images(images, name, s).astype(int) - images).mean() for s in SEVERITIES]
    assert all(b > a for a, b in zip(damage, damage[1:])), (name, damage)
    assert damage[0] > 0


@pytest.mark.parametrize("name", NAMES)
def test_rgb_faces(name):
    rgb = np.repeat(faces(3)[..., None], 3, -1)
    out = degrade_images(rgb, name, 3)
    assert out.shape == rgb.shape and np.array_equal(out, degrade_images(rgb, name, 3))


def test_bad_requests():
    with pytest.raises(ValueError, match="severity must be 0 .* or one of"):
        degrade_images(faces(1), "jpeg", 6)
    with pytest.raises(KeyError, match=r"unknown degradation 'fog' \(known: .*jpeg"):
        degrade_images(faces(1), "fog", 1)
    with pytest.raises(ValueError, match="uint8"):
        degrade_images(faces(1).astype(float), "jpeg", 1)


def test_degrade_dataset_records_the_stage_and_changes_the_fingerprint(tmp_path):
    from ferbench.degrade import degrade_dataset

    ds = dataset()
    a = degrade_dataset(ds, "gaussian_noise", 2, seed=1)
    assert np.array_equal(a.ids, ds.ids) and np.array_equal(a.labels, ds.labels)
    assert a.options["degrade"] | {"key": None} == {"name": "gaussian_noise", "severity": 2, "seed": 1, "key": None}
    prints = {ds.fingerprint, a.fingerprint, degrade_dataset(ds, "gaussian_noise", 3, seed=1).fingerprint,
              degrade_dataset(ds, "gaussian_noise", 2, seed=2).fingerprint,
              degrade_dataset(ds, "jpeg", 2, seed=1).fingerprint}
    assert len(prints) == 5
    stored = degrade_dataset(ds, "gaussian_noise", 2, seed=1, out_dir=tmp_path / "job", shard_size=5)
    assert np.array_equal(stored.images, a.images) and stored.fingerprint == a.fingerprint


def test_seeded_output_is_stable_across_versions():
    # Studies cite degraded results by (degradation, severity, seed): the same request must give the same
    # bytes in every ferbench version (a change here makes published runs irreproducible: do not update
    # these digests without saying so in the changelog).
    import hashlib

    img = np.arange(16 * 16, dtype=np.uint8).reshape(1, 16, 16) * 7
    digest = lambda a: hashlib.sha256(a.tobytes()).hexdigest()  # noqa: E731
    assert digest(degrade_images(img, "gaussian_noise", 3, seed=5)) == \
        "a9c3650fc9c4be94fa7757d392a5a44af5caddabb5b51e1d67920483d9582a6d"
    assert digest(degrade_images(img, "gaussian_noise", 3)) == \
        "b55b8c761ebb9ca6ebdf3406e34f0561b2ce4d89c0123250e456901bbe859c2e"  # the default seed is 0
    assert digest(degrade_images(np.tile(img, (1, 3, 3)), "occlusion", 4, seed=0)) == \
        "abee10f0e3f437cc9685f14d6c29be550b66861548a4cc1af13bf29f6bc14d36"
    # the image's shape is part of its seed: the same bytes as 8×32 draw different noise
    wide = img.reshape(1, 8, 32)
    assert not np.array_equal(degrade_images(wide, "gaussian_noise", 3).reshape(img.shape),
                              degrade_images(img, "gaussian_noise", 3))


@pytest.fixture
def scratch_registry(monkeypatch):
    from ferbench.degrade.registry import DEGRADATIONS

    list_degradations()  # load the built-ins first, then register test entries in a copy
    monkeypatch.setattr(DEGRADATIONS, "_entries", dict(DEGRADATIONS._entries))


def test_registering_a_degradation(scratch_registry):
    from ferbench.degrade.registry import register_degradation

    with pytest.raises(ValueError, match="degradation 'bad': needs 5 levels, got 2"):
        register_degradation("bad", levels=(1, 2), unit="px")

    @register_degradation("invert_test", levels=(1, 2, 3, 4, 5), unit="steps", description="test only")
    def invert(image, level, rng):
        return 255 - image

    assert "invert_test" in list_degradations()
    assert severity_table()["invert_test"] == {"unit": "steps", "levels": {1: 1, 2: 2, 3: 3, 4: 4, 5: 5},
                                               "description": "test only"}
    assert np.array_equal(degrade_images(faces(2), "invert_test", 1), 255 - faces(2))

    @register_degradation("float_test", levels=(1, 2, 3, 4, 5), unit="steps")
    def to_float(image, level, rng):
        return image.astype(np.float32)  # same shape, wrong dtype

    with pytest.raises(RuntimeError, match="degradation 'float_test' returned float32"):
        degrade_images(faces(1), "float_test", 1)


def test_resizing_degradations_come_back_at_the_input_size_unless_asked(scratch_registry):
    import cv2

    from ferbench.degrade.registry import register_degradation

    @register_degradation("halve_test", levels=(2, 2, 2, 2, 2), unit="factor", resizes=True)
    def halve(image, level, rng):
        return np.ascontiguousarray(image[::level, ::level])

    @register_degradation("crop_test", levels=(1, 2, 3, 4, 5), unit="px")
    def crop(image, level, rng):
        return image[level:, level:]  # smaller, but not declared as resizing

    @register_degradation("gray_test", levels=(2, 2, 2, 2, 2), unit="factor", resizes=True)
    def to_gray(image, level, rng):
        return np.ascontiguousarray(image[::level, ::level, 0])  # loses its colour channels

    x = np.ascontiguousarray(faces(2)[:, :, :40])  # not square: 48 rows, 40 columns
    small = degrade_images(x, "halve_test", 1, keep_size=False)
    assert small.shape == (2, 24, 20) and np.array_equal(small, x[:, ::2, ::2])
    big = degrade_images(x, "halve_test", 1)
    assert big.shape == x.shape and big.dtype == np.uint8
    np.testing.assert_array_equal(big[0], cv2.resize(x[0, ::2, ::2], (40, 48), interpolation=cv2.INTER_CUBIC))
    with pytest.raises(RuntimeError, match=r"degradation 'crop_test' returned uint8 \(47, 39\)"):
        degrade_images(x, "crop_test", 1)
    rgb = np.repeat(x[..., None], 3, axis=3)
    with pytest.raises(RuntimeError, match="degradation 'gray_test' returned"):
        degrade_images(rgb, "gray_test", 1, keep_size=False)
    assert degrade_images(x[:0], "halve_test", 1).shape == (0, 48, 40)  # an empty batch stays empty
    from ferbench.degrade.registry import degrade_one

    one = degrade_one(x[0], "halve_test", 1, np.random.default_rng(0))  # one image: the same default
    assert np.array_equal(one, big[0])


def test_an_unknown_degradation_is_an_error_even_at_severity_0():
    with pytest.raises(KeyError, match="unknown degradation 'blurr'"):
        degrade_images(faces(1), "blurr", 0)
