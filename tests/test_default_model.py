"""The packaged default model (the FERNet ensemble): loads with no arguments, is what eval/predict use by
default, fits the size budget, and reproduces its model card's PublicTest accuracy on the shared data."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import SHARED_CSV, needs_shared, synthetic_faces
from ferbench.cli.main import app
from ferbench.models import load_predictor
from ferbench.models.default_model import DEFAULT, FERNET, WEIGHTS_DIR
from ferbench.models.keras.sources import PRETRAINED_DIR

runner = CliRunner()


def test_packaged_weights_are_small_and_load():
    weights = list(WEIGHTS_DIR.glob("*.safetensors")) + list(PRETRAINED_DIR.glob("*.safetensors"))
    assert DEFAULT.exists() and sum(f.stat().st_size for f in weights) < 25 * 2**20
    pred = load_predictor()
    assert pred.name == "fernet_ensemble"
    members = pred.describe()["members"]
    assert [m["arch"] for m in members] == ["fernet", "fernet", "fernet", "big_xception", "mini_xception_64"]
    assert {m["tta"] for m in members} == {"tencrop"}
    p = pred.predict(synthetic_faces(4)[0])
    np.testing.assert_allclose(p.proba.sum(axis=1), 1.0, atol=1e-5)
    fernet = load_predictor("fernet")
    assert fernet.weights_path == str(FERNET) and fernet.weights_sha256 == members[0]["weights_sha256"]
    assert fernet.config.provenance["trained_by"] == "ferbench train"
    info = fernet.cost_info()
    assert info["params"] == 1_557_191 and info["flops_per_image"] > 0
    assert pred.cost_info()["params"] > 2 * info["params"]


def test_eval_and_predict_default_to_it(fer_csv, tmp_path):
    result = runner.invoke(app, ["eval", "--data", str(fer_csv), "--out", str(tmp_path / "run"), "-q", "--n-boot", "50"])
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["model"]["name"] == "fernet_ensemble" and run["model"]["family"] == "ensemble"
    training = run["cost"]["training"]  # the three FERNets' own training, summed; the Xceptions were trained elsewhere
    assert training["members_without_cost"] == 2 and training["wall_s"] == pytest.approx(
        sum(m["wall_s"] for m in training["members"] if m), rel=1e-9) and training["wall_s"] > 3600


@needs_shared(SHARED_CSV)
def test_publictest_accuracy_matches_the_model_card():
    """The first 300 PublicTest faces (the whole split takes ~6 min): 216 right in the model card's run
    (`ferbench eval` on PublicTest, 70.02% overall), so the packaged files are the ones measured."""
    from ferbench.data import load_dataset

    ds = load_dataset(SHARED_CSV, split="PublicTest", limit=300)
    assert ds.ids[0] == "28709"
    preds = load_predictor().predict(ds.images).pred
    assert abs(int(np.sum(preds == ds.labels)) - 216) <= 1  # one borderline face may flip with batch size
