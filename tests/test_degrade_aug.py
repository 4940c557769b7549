"""Degradation-aware training: seeded and reproducible, held-out kinds never drawn, evaluation rows never touched."""

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from conftest import synthetic_faces, write_fer_csv
from ferbench.cli.main import app
from ferbench.data import load_dataset
from ferbench.train import TrainConfig
from ferbench.train.config import Augment, DegradeAugment
from ferbench.train.degrade_aug import TrainFaceDataset, draw_degradation, trained_kinds
from ferbench.train.fit import train


@pytest.fixture
def csv(tmp_path):
    images, labels = synthetic_faces(96, size=48, seed=3)
    return write_fer_csv(tmp_path / "d.csv", images, labels, ["Training"] * 64 + ["PublicTest"] * 32)


def _faces(ds, seed=0, **degrade):
    return TrainFaceDataset(ds, Augment(erasing=0.0), seed, degrade=DegradeAugment(**degrade))


def test_same_seed_same_faces_other_seed_or_epoch_other_faces(csv):
    train_rows = load_dataset(csv).select("Training")
    a, b, c = (_faces(train_rows, s, p=1.0, p_pair=0.5) for s in (0, 0, 1))
    n = len(train_rows)
    for i in range(0, n, 7):
        assert torch.equal(a[i][0], b[i][0])
    assert any(not torch.equal(a[i][0], c[i][0]) for i in range(n))
    assert any(not torch.equal(a[i][0], a[n + i][0]) for i in range(n))  # epoch 1 draws anew
    clean = TrainFaceDataset(train_rows, Augment(erasing=0.0), 0)
    assert sum(not torch.equal(a[i][0], clean[i][0]) for i in range(n)) > n // 2


def test_only_trained_kinds_severities_and_pairs_are_drawn():
    cfg = DegradeAugment(p=0.8, kinds=["jpeg", "downscale"], severities=[2, 5], p_pair=0.5)
    kinds = trained_kinds(cfg)
    draws = [draw_degradation(cfg, kinds, np.random.default_rng(i)) for i in range(400)]
    assert {k for d in draws for k, _ in d} == {"jpeg", "downscale"}
    assert {s for d in draws for _, s in d} == {2, 5}
    sizes = [len(d) for d in draws]
    assert 0.1 < sizes.count(0) / 400 < 0.3 and sizes.count(2) > 100 and max(sizes) == 2
    assert all(len({k for k, _ in d}) == len(d) for d in draws)  # a pair is two different kinds
    with pytest.raises(ValueError, match="unknown degradation.*'blurr'"):
        trained_kinds(DegradeAugment(p=1, kinds=["blurr"]))


def test_evaluation_rows_are_refused(csv):
    with pytest.raises(ValueError, match="PublicTest"):
        _faces(load_dataset(csv), p=1.0)


def test_consistency_gives_a_clean_and_a_degraded_view(csv):
    train_rows = load_dataset(csv).select("Training")
    faces = _faces(train_rows, p=1.0, consistency=1.0, kinds=["gaussian_noise"])
    clean, _, degraded = faces[3]
    assert torch.equal(clean, TrainFaceDataset(train_rows, Augment(erasing=0.0), 0)[3][0])
    assert not torch.equal(clean, degraded)
    with pytest.raises(ValueError, match="mixup"):
        TrainConfig.model_validate({"data": "x", "degrade": {"p": 1, "consistency": 1}, "augment": {"mixup": 0.2}})


def test_robust_training_validates_on_clean_faces(csv, tmp_path):
    cfg = TrainConfig.model_validate(dict(
        model="tiny_cnn", data=str(csv), epochs=2, batch_size=16, warmup_epochs=0, early_stopping=None, threads=1,
        augment={"erasing": 0.0}, degrade={"p": 1.0, "kinds": ["gaussian_noise", "downscale"], "consistency": 1.0}))
    run = train(cfg, tmp_path / "robust", progress=False)
    assert run["training_inputs"]["degrade"]["held_out_kinds"] == ["gaussian_blur", "jpeg", "low_brightness",
                                                                   "low_contrast", "occlusion"]
    # The exported checkpoint scored on the clean PublicTest faces gives the validation accuracy it was selected
    # on: validation never saw a degraded face.
    result = CliRunner().invoke(app, ["eval", "--checkpoint", run["checkpoint"]["path"], "--data", str(csv), "--split",
                                      "PublicTest", "--out", str(tmp_path / "eval"), "-q", "--n-boot", "50"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["accuracy"] == pytest.approx(run["best"]["val_accuracy"], abs=1e-6)


def test_every_kind_and_pair_keeps_the_face_size():
    from ferbench.degrade import list_degradations
    from ferbench.train.degrade_aug import apply_degradations

    face = np.random.default_rng(0).integers(0, 255, (48, 48), dtype=np.uint8)
    for kind in list_degradations():
        out = apply_degradations(face, [(kind, 5), ("jpeg", 3)], np.random.default_rng(1))
        assert out.shape == face.shape and out.dtype == np.uint8, kind
