"""Distillation and FER+ soft-label targets: losses against hand-computed values, teacher files keyed by row."""

import json
import math

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file
from typer.testing import CliRunner

from conftest import synthetic_faces, write_fer_csv
from ferbench.cli.main import app
from ferbench.data import load_dataset
from ferbench.train import TrainConfig
from ferbench.train.fit import train
from ferbench.train.losses import distillation_kl, js_divergence, mix_targets
from ferbench.train.module import FERModule
from ferbench.train.targets import ferplus_vote_targets, read_teacher_probs, write_teacher_probs

LN2 = math.log(2)
pytestmark = pytest.mark.filterwarnings("ignore:You are trying to")


class Fixed(torch.nn.Module):
    """A 'model' whose logits are given: the loss is then a number computable by hand."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.as_tensor(logits, dtype=torch.float32))

    def forward(self, x):
        return self.logits.expand(x.shape[0], -1)


def _module(logits, **cfg):
    config = TrainConfig.model_validate({"model": "tiny_cnn", "data": "x.csv", "label_smoothing": 0.0, **cfg})
    return FERModule(config, Fixed(logits), steps_per_epoch=1)


def test_ferplus_soft_target_cross_entropy_by_hand():
    # logits (ln 2, 0 x6): p = (2/8, 1/8 x6). Label 0 mixed half-half with votes (0.5, 0.5): target (0.75, 0.25).
    target = mix_targets(torch.tensor([[1.0, 0, 0, 0, 0, 0, 0]]), torch.tensor([[0.5, 0.5, 0, 0, 0, 0, 0]]),
                         torch.tensor([True]), 0.5)
    assert torch.allclose(target, torch.tensor([[0.75, 0.25, 0, 0, 0, 0, 0]]))
    # Cross-entropy = -(0.75 ln 1/4 + 0.25 ln 1/8) = 2.25 ln 2, through the training step itself.
    module = _module([LN2, 0, 0, 0, 0, 0, 0])
    loss = module.training_step((torch.zeros(1, 1, 48, 48, dtype=torch.uint8), target), 0)
    assert loss.item() == pytest.approx(2.25 * LN2, rel=1e-5)
    # A row without votes keeps its label.
    kept = mix_targets(torch.eye(7)[[3]], torch.zeros(1, 7), torch.tensor([False]), 0.5)
    assert torch.equal(kept, torch.eye(7)[[3]])


def test_distillation_kl_by_hand():
    # Teacher (0.8, 0.2) at T=2: sqrt -> (2/3, 1/3). Student logits (2 ln 2, 0 x6) / 2 -> p = (1/4, 1/8 x6).
    # KL = 2/3 ln((2/3)/(1/4)) + 1/3 ln((1/3)/(1/8)) = ln(8/3); times T^2 = 4 ln(8/3).
    teacher = torch.tensor([[0.8, 0.2, 0, 0, 0, 0, 0]])
    student = torch.tensor([[2 * LN2, 0, 0, 0, 0, 0, 0]])
    assert distillation_kl(student, teacher, 2.0).item() == pytest.approx(4 * math.log(8 / 3), rel=1e-5)
    # In the training step: (1 - a) CE(label 0) + a KD, CE = -ln(4/10).
    module = _module([2 * LN2, 0, 0, 0, 0, 0, 0], targets={"teacher": "t.safetensors", "distill_weight": 0.25,
                                                           "temperature": 2.0})
    loss = module.training_step((torch.zeros(1, 1, 48, 48, dtype=torch.uint8), torch.tensor([0]), teacher), 0)
    assert loss.item() == pytest.approx(0.75 * -math.log(0.4) + 0.25 * 4 * math.log(8 / 3), rel=1e-5)


def test_js_divergence_by_hand():
    a, b = torch.tensor([[LN2, 0, 0, 0, 0, 0, 0]]), torch.zeros(1, 7)
    p, q = [2 / 8] + [1 / 8] * 6, [1 / 7] * 7
    m = [(x + y) / 2 for x, y in zip(p, q)]
    want = 0.5 * sum(x * math.log(x / z) for x, z in zip(p, m)) + 0.5 * sum(y * math.log(y / z) for y, z in zip(q, m))
    assert js_divergence(a, b).item() == pytest.approx(want, rel=1e-4)
    assert js_divergence(a, a).item() == pytest.approx(0.0, abs=1e-7)


@pytest.fixture
def csv(tmp_path):
    images, labels = synthetic_faces(60, size=48, seed=2)
    return write_fer_csv(tmp_path / "d.csv", images, labels, ["Training"] * 40 + ["PublicTest"] * 20)


def _probs(images):
    return np.tile(np.linspace(1, 7, 7, dtype=np.float32) / 28, (len(images), 1)) + images[:, :1, 0] / 1e6


def test_teacher_file_joins_by_row_id_and_refuses_other_data_or_rows(csv, tmp_path):
    ds = load_dataset(csv)
    path = write_teacher_probs(_probs, ds, "Training", tmp_path / "t.safetensors", batch_size=16)
    with pytest.raises(FileExistsError):
        write_teacher_probs(_probs, ds, "Training", path)
    with pytest.raises(ValueError, match="training rows only"):
        write_teacher_probs(_probs, ds, "PublicTest", tmp_path / "v.safetensors")
    train_rows = ds.select("Training")
    reordered = train_rows.subset(np.arange(len(train_rows))[::-1])
    got = read_teacher_probs(path, reordered, ds)
    assert np.allclose(got, _probs(reordered.images))  # joined by id, not by position
    with pytest.raises(ValueError, match="no teacher probabilities for 20 of 60"):
        read_teacher_probs(path, ds, None)
    other = load_dataset(write_fer_csv(tmp_path / "o.csv", *synthetic_faces(10, seed=9), ["Training"] * 10))
    with pytest.raises(ValueError, match="made from data"):
        read_teacher_probs(path, other, other)
    # A file holding a PublicTest row (made by hand: the writer refuses to) is refused by training.
    bad = tmp_path / "bad.safetensors"
    ids = train_rows.ids.tolist() + [ds.select("PublicTest").ids[0]]
    save_file({"probs": np.full((len(ids), 7), 1 / 7, np.float32)}, str(bad), metadata={
        "format": "ferbench-teacher-1", "source_sha256": ds.source_hash, "split": "Training",
        "ids": json.dumps(ids), "labels": json.dumps(["angry", "disgust", "fear", "happy", "sad", "surprise",
                                                      "neutral"]), "teacher": "{}"})
    with pytest.raises(ValueError, match="1 validation/test rows"):
        read_teacher_probs(bad, train_rows, ds)


def test_ferplus_votes_join_training_rows_by_id(csv, tmp_path):
    header = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"
    rows = [header] + [f"Training,x{i}.png,0,6,4,0,0,0,0,0,0,0" for i in range(60)]
    rows[1 + 5] = "Training,,0,0,0,0,0,0,0,0,0,0"  # dropped by FER+: no image name
    votes = tmp_path / "fer2013new.csv"
    votes.write_text("\n".join(rows) + "\n")
    train_rows = load_dataset(csv).select("Training")
    dist, has = ferplus_vote_targets(train_rows, votes)
    assert has.sum() == 39 and not has[5]
    assert np.allclose(dist[0], [0, 0, 0, 0.6, 0, 0.4, 0]) and np.allclose(dist[5], 0)


def test_training_with_teacher_and_votes_end_to_end(csv, tmp_path):
    base = dict(model="tiny_cnn", data=str(csv), epochs=1, batch_size=16, warmup_epochs=0, early_stopping=None,
                threads=1, augment={"erasing": 0.0})
    first = train(TrainConfig.model_validate(base), tmp_path / "teacher_run", progress=False)
    teacher = tmp_path / "teacher.safetensors"
    result = CliRunner().invoke(app, ["teacher-targets", "--checkpoint", first["checkpoint"]["path"], "--data",
                                      str(csv), "--out", str(teacher)])
    assert result.exit_code == 0, result.output
    refused = CliRunner().invoke(app, ["teacher-targets", "--checkpoint", first["checkpoint"]["path"], "--data",
                                       str(csv), "--split", "PublicTest", "--out", str(tmp_path / "p.safetensors")])
    assert refused.exit_code == 2 and "training rows only" in refused.output
    header = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"
    votes = tmp_path / "fer2013new.csv"
    votes.write_text("\n".join([header] + ["Training,x.png,2,8,0,0,0,0,0,0,0,0"] * 60) + "\n")
    cfg = TrainConfig.model_validate({**base, "targets": {"teacher": str(teacher), "ferplus_votes": str(votes)},
                                      "augment": {"erasing": 0.0, "mixup": 0.2}})
    run = train(cfg, tmp_path / "student", progress=False)
    assert run["training_inputs"]["teacher"]["rows"] == 40
    assert run["training_inputs"]["ferplus_votes"]["rows_with_votes"] == 40
    assert set(run["input_files"]) == {"teacher_sha256", "ferplus_votes_sha256"}
    plain = TrainConfig.model_validate(base)
    assert "targets" not in plain.result_affecting() and "degrade" not in plain.result_affecting()
