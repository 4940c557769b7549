"""Evaluation runs: files written, resume after interruption, configuration guard, TTA, leakage option."""

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from ferbench.cli.main import app
from ferbench.data import load_dataset
from ferbench.models import Prediction, Predictor, create_model
from ferbench.models.checkpoint import save_checkpoint
from ferbench.models.config import ModelConfig
from ferbench.models.preprocess import to_tensor
from ferbench.models.torch_predictor import TorchPredictor
from ferbench.runs.evaluate import evaluate
from ferbench.runs.files import read_predictions

runner = CliRunner()


class Flaky(Predictor):
    """Predicts the label's neighbour; raises after ``fail_after`` batches (a simulated crash)."""

    name = "flaky"
    batch_size = 8

    def __init__(self, fail_after=None):
        self.calls, self.fail_after = 0, fail_after

    def predict(self, images):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt
        proba = np.full((len(images), 7), 0.1 / 6)
        proba[:, 3] = 0.9
        return Prediction.from_proba(proba)


def test_run_files_and_resume(fer_csv, tmp_path):
    ds = load_dataset(fer_csv, split="PrivateTest")
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        evaluate(Flaky(fail_after=1), ds, out, {"x": 1}, n_boot=100, progress=False)
    assert len(read_predictions(out / "predictions.jsonl")) == 8
    with open(out / "predictions.jsonl", "a") as fh:
        fh.write('{"id": "torn')  # a kill in the middle of a write
    resumed = Flaky()
    metrics = evaluate(resumed, ds, out, {"x": 1}, n_boot=100, progress=False)
    assert resumed.calls == 1  # only the 6 remaining images were predicted
    records = read_predictions(out / "predictions.jsonl")
    assert [r["id"] for r in records] == ds.ids.tolist()
    assert metrics["n"] == metrics["n_scored"] == 14
    assert metrics["accuracy"] == pytest.approx(np.mean(ds.labels == 3))
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "finished" and run["dataset"]["fingerprint"] == ds.fingerprint
    assert run["versions"]["torch"] and run["seed"] == 0
    rec = records[0]
    assert set(rec) == {"id", "label", "prediction", "probabilities"}
    assert list(rec["probabilities"]) == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    with pytest.raises(ValueError, match="different configuration"):
        evaluate(Flaky(), ds, out, {"x": 2}, progress=False)


def test_tta_modes_give_probabilities(fer_csv):
    torch.manual_seed(0)
    module = create_model("tiny_cnn")
    ds = load_dataset(fer_csv, split="PublicTest")
    for tta in ("none", "flip", "tencrop"):
        p = TorchPredictor(module, ModelConfig(arch="tiny_cnn"), tta=tta).predict(ds.images)
        np.testing.assert_allclose(p.proba.sum(axis=1), 1.0, atol=1e-5)
    assert TorchPredictor(module, ModelConfig(arch="tiny_cnn"), tta="tencrop").cost_info()["tta_views"] == 10


def test_float32_runs_channels_last_with_the_contiguous_probabilities(fer_csv):
    """channels_last is a speed choice (benchmarks/channels_last.py), never a change of result."""
    torch.manual_seed(0)
    module = create_model("tiny_cnn").eval()
    images, config = load_dataset(fer_csv, split="PublicTest").images, ModelConfig(arch="tiny_cnn")
    with torch.inference_mode():  # before the predictor converts the module in place
        expected = module(to_tensor(images, config.preprocess)).softmax(1).numpy()
    pred = TorchPredictor(module, config, device="cpu")
    assert next(p for p in pred.module.parameters() if p.ndim == 4).is_contiguous(memory_format=torch.channels_last)
    np.testing.assert_allclose(pred.predict(images).proba, expected, atol=1e-5)


def test_refuses_a_model_with_another_label_order():
    cfg = ModelConfig(arch="tiny_cnn", labels=sorted(["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]))
    with pytest.raises(ValueError, match="not FER order"):
        TorchPredictor(create_model("tiny_cnn"), cfg)


def test_cli_eval_with_exclude_leaked_and_compare(fer_csv, tmp_path):
    ckpt = save_checkpoint(create_model("tiny_cnn"), ModelConfig(arch="tiny_cnn"), tmp_path / "m.safetensors")
    clean = tmp_path / "clean.json"
    assert runner.invoke(app, ["data", "audit", str(fer_csv), "--write-clean-split", str(clean)]).exit_code == 0
    for name in ("a", "b"):
        result = runner.invoke(app, ["eval", "--checkpoint", str(ckpt), "--data", str(fer_csv), "--out",
                                     str(tmp_path / name), "--exclude-leaked", str(clean), "-q", "--n-boot", "100"]
                               + (["--tta", "flip"] if name == "b" else []))
        assert result.exit_code == 0, result.output
        assert "accuracy" in result.output
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    for key in ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "n", "n_scored"):
        assert isinstance(metrics[key], (int, float))
    assert metrics["n"] == 14  # default split: PrivateTest
    assert "deduplicated" in metrics
    result = runner.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n"] == 14


def test_cli_eval_errors_are_clean(fer_csv, tmp_path):
    result = runner.invoke(app, ["eval", "--model", "resnet50", "--data", str(fer_csv)])
    assert result.exit_code == 2 and "needs --weights" in result.output
    result = runner.invoke(app, ["eval", "--model", "nope", "--data", str(fer_csv), "--weights", str(fer_csv)])
    assert result.exit_code == 2 and "unknown model 'nope'" in result.output
