"""The packaged default model (FERNet): loads with no arguments, is what eval/predict use by default, and
reproduces its model card's PublicTest accuracy on the shared data."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import SHARED_CSV, needs_shared, synthetic_faces
from ferbench.cli.main import app
from ferbench.models import load_predictor
from ferbench.models.default_model import DEFAULT

runner = CliRunner()


def test_packaged_weights_are_small_and_load():
    assert DEFAULT.exists() and DEFAULT.stat().st_size < 25 * 2**20
    pred = load_predictor()
    assert pred.name == "fernet" and pred.config.arch == "fernet"
    assert pred.config.provenance["trained_by"] == "ferbench train"
    p = pred.predict(synthetic_faces(4)[0])
    np.testing.assert_allclose(p.proba.sum(axis=1), 1.0, atol=1e-5)
    info = pred.cost_info()
    assert info["params"] == 1_557_191 and info["flops_per_image"] > 0
    assert load_predictor("fernet").weights_sha256 == pred.weights_sha256


def test_eval_and_predict_default_to_it(fer_csv, tmp_path):
    result = runner.invoke(app, ["eval", "--data", str(fer_csv), "--out", str(tmp_path / "run"), "-q", "--n-boot", "50"])
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["model"]["arch"] == "fernet" and "training" in run["cost"]  # the checkpoint's own training cost


@needs_shared(SHARED_CSV)
def test_publictest_accuracy_matches_the_model_card():
    from ferbench.data import load_dataset

    ds = load_dataset(SHARED_CSV, split="PublicTest")
    pred = load_predictor()
    preds = np.concatenate([pred.predict(ds.images[i:i + 512]).pred for i in range(0, len(ds), 512)])
    assert np.mean(preds == ds.labels) == pytest.approx(0.6768, abs=0.0005)  # MODEL_CARD.md: 67.68%
