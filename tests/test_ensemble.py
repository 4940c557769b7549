"""Ensembles: equal-weight mean of members' probabilities, member paths relative to the JSON, clear errors."""

import json

import numpy as np
import pytest
import torch

from conftest import synthetic_faces
from ferbench.models import create_model, load_predictor
from ferbench.models.checkpoint import save_checkpoint
from ferbench.models.config import ModelConfig


def _members(tmp_path):
    paths = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        paths.append(save_checkpoint(create_model("tiny_cnn"), ModelConfig(arch="tiny_cnn"), tmp_path / f"m{seed}"))
    return paths


def test_mean_of_members_with_relative_paths_and_option_override(tmp_path):
    a, b = _members(tmp_path)
    spec = {"ferbench_ensemble": 1, "members": [{"model": "tiny_cnn", "weights": a.name, "options": {"tta": "flip"}},
                                                {"model": "tiny_cnn", "weights": b.name}]}
    (tmp_path / "ens.json").write_text(json.dumps(spec))
    images = synthetic_faces(6)[0]
    ens = load_predictor("ensemble", tmp_path / "ens.json")
    pa = load_predictor("tiny_cnn", a, tta="flip").predict(images).proba
    pb = load_predictor("tiny_cnn", b).predict(images).proba
    out = ens.predict(images)
    np.testing.assert_allclose(out.proba, (pa + pb) / 2, atol=1e-6)
    assert (out.pred == out.proba.argmax(1)).all()
    assert [m["tta"] for m in ens.describe()["members"]] == ["flip", "none"]
    assert ens.cost_info()["params"] == 2 * load_predictor("tiny_cnn", a).cost_info()["params"]
    overridden = load_predictor("ensemble", tmp_path / "ens.json", tta="none")
    assert [m["tta"] for m in overridden.describe()["members"]] == ["none", "none"]


def test_bad_ensemble_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="needs --weights"):
        load_predictor("ensemble")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json: not valid JSON"):
        load_predictor("ensemble", bad)
    bad.write_text(json.dumps({"members": []}))
    with pytest.raises(ValueError, match="not a ferbench ensemble file"):
        load_predictor("ensemble", bad)


def test_remote_code_consent_comes_from_the_run_not_the_file(tmp_path):
    from ferbench.models import register_model

    seen = []

    def probe(name, weights=None, **options):
        seen.append(options)
        return load_predictor("tiny_cnn", weights)

    register_model("consent_probe", family="cnn", predictor=probe)(probe)
    a, b = _members(tmp_path)
    spec = {"ferbench_ensemble": 1, "members": [
        {"model": "consent_probe", "weights": a.name, "options": {"trust_remote_code": True}},
        {"model": "consent_probe", "weights": b.name}]}
    (tmp_path / "ens.json").write_text(json.dumps(spec))
    load_predictor("ensemble", tmp_path / "ens.json")
    assert seen == [{}, {}]  # the file alone cannot grant it
    seen.clear()
    load_predictor("ensemble", tmp_path / "ens.json", trust_remote_code=True)
    assert seen == [{"trust_remote_code": True}, {}]  # only to the member that asks
