"""The packaged models: the default (``DEFAULT_MODEL``, a single network chosen by measurement) loads with no
arguments and is what eval/predict use; the ensemble stays available by name; the packaged files fit the size
budget; the packaged ensembles name their members' files; and the packaged models reproduce their model card's
PublicTest counts on the shared data."""

import json
import re

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from conftest import SHARED_CSV, needs_shared, synthetic_faces
from ferbench.cli.main import app
from ferbench.models import load_predictor
from ferbench.models.default_model import ENSEMBLE, ENSEMBLES, FERNET, PACKAGED, WEIGHTS_DIR
from ferbench.models.files import packaged_files
from ferbench.models.keras.sources import PRETRAINED_DIR
from ferbench.models.registry import DEFAULT_MODEL

runner = CliRunner()

#: Right answers on the first 300 PublicTest faces in the model card's runs (``ferbench eval`` on PublicTest).
CARD_COUNTS = {"fernet": 211, "fernet_robust": 204, "fernet_kd": 215, "fernet_kd2": 215, "fernet_robust2": 210,
               "fernet_trio": 219}


def test_packaged_weights_are_small_and_load():
    weights = list(WEIGHTS_DIR.glob("*.safetensors")) + list(PRETRAINED_DIR.glob("*.safetensors"))
    assert ENSEMBLE.exists() and sum(f.stat().st_size for f in weights) < 36 * 2**20
    pred = load_predictor()
    assert pred.name == DEFAULT_MODEL and DEFAULT_MODEL in {*PACKAGED, "fernet"}  # one network, not the ensemble
    np.testing.assert_allclose(pred.predict(synthetic_faces(4)[0]).proba.sum(axis=1), 1.0, atol=1e-5)
    assert pred.config.provenance["trained_by"] == "ferbench train"

    ensemble = load_predictor("fernet_ensemble")
    members = ensemble.describe()["members"]
    assert [m["arch"] for m in members] == ["fernet", "fernet", "fernet", "big_xception", "mini_xception_64"]
    assert {m["tta"] for m in members} == {"tencrop"}
    fernet = load_predictor("fernet")
    assert fernet.weights_path == str(FERNET) and fernet.weights_sha256 == members[0]["weights_sha256"]
    info = fernet.cost_info()
    assert info["params"] == 1_557_191 and info["flops_per_image"] > 0
    assert ensemble.cost_info()["params"] > 2 * info["params"]


@pytest.mark.parametrize("name", list(PACKAGED))
def test_packaged_networks_run_in_float32_from_half_storage(name):
    pred = load_predictor(name)
    assert pred.name == name and pred.config.arch == PACKAGED[name][1]
    assert pred.weights_path == str(WEIGHTS_DIR / PACKAGED[name][0])
    assert {p.dtype for p in pred.module.parameters()} == {torch.float32}
    p = pred.predict(synthetic_faces(4)[0])
    np.testing.assert_allclose(p.proba.sum(axis=1), 1.0, atol=1e-5)
    assert pred.config.provenance["training_cost"]["wall_s"] > 600  # trained here, not for seconds


@pytest.mark.parametrize("name", list(ENSEMBLES))
def test_packaged_ensembles_load_their_members_and_hash_their_files(name):
    ensemble = load_predictor(name)
    members = ensemble.describe()["members"]
    files = {f.name for f in packaged_files(name)}
    assert ENSEMBLES[name][0] in files and all(m["weights_sha256"] for m in members)
    for m in members:  # every member's weights are among the files that identify the ensemble
        assert m["weights"] is None or m["weights"].rsplit("/", 1)[-1] in files
    if name == "fernet_trio":  # the default network and the two MIT Xceptions, one view each
        assert [m["name"] for m in members] == ["fernet_kd2", "big_xception", "mini_xception_64"]
        assert {m["tta"] for m in members} == {"none"}
        assert members[0]["weights_sha256"] == load_predictor("fernet_kd2").weights_sha256


def test_eval_defaults_to_it_and_the_ensemble_keeps_its_cost(fer_csv, tmp_path):
    result = runner.invoke(app, ["eval", "--data", str(fer_csv), "--out", str(tmp_path / "run"), "-q", "--n-boot", "50"])
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["model"]["name"] == DEFAULT_MODEL
    result = runner.invoke(app, ["eval", "-m", "fernet_ensemble", "--data", str(fer_csv), "--out",
                                 str(tmp_path / "ens"), "-q", "--n-boot", "50", "--limit", "8"])
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "ens" / "run.json").read_text())
    assert run["model"]["name"] == "fernet_ensemble" and run["model"]["family"] == "ensemble"
    training = run["cost"]["training"]  # the three FERNets' own training, summed; the Xceptions were trained elsewhere
    assert training["members_without_cost"] == 2 and training["wall_s"] == pytest.approx(
        sum(m["wall_s"] for m in training["members"] if m), rel=1e-9) and training["wall_s"] > 3600


def test_predict_defaults_to_it(tmp_path):
    from PIL import Image

    Image.fromarray(synthetic_faces(1)[0][0]).save(tmp_path / "face.png")
    result = runner.invoke(app, ["predict", str(tmp_path / "face.png")])
    assert result.exit_code == 0, result.output
    assert f"expressions ({DEFAULT_MODEL})" in result.output


@needs_shared(SHARED_CSV)
@pytest.mark.parametrize("name", list(CARD_COUNTS))
def test_publictest_accuracy_matches_the_model_card(name):
    """The first 300 PublicTest faces: the packaged files are the ones the model card measured."""
    from ferbench.data import load_dataset

    ds = load_dataset(SHARED_CSV, split="PublicTest", limit=300)
    assert ds.ids[0] == "28709"
    preds = load_predictor(name).predict(ds.images).pred
    assert abs(int(np.sum(preds == ds.labels)) - CARD_COUNTS[name]) <= 1  # a borderline face may flip with batch size


def test_help_names_the_default():
    for command in ("eval", "predict", "serve"):
        result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        words = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())  # rich's box, wrapped lines
        assert f"packaged {DEFAULT_MODEL}" in words, command
