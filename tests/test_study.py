"""Studies: YAML validation, cells, a whole small study (train + restore + degrade + eval), resume, missing
weights, parallel cells, the results store and the report."""

import json

import pandas as pd
import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from conftest import synthetic_faces, write_fer_csv
from ferbench.cli.main import app
from ferbench.models import create_model
from ferbench.models.checkpoint import save_checkpoint
from ferbench.models.config import ModelConfig
from ferbench.study.runner import run_study
from ferbench.study.spec import StudySpec, cells, expand

runner = CliRunner()


@pytest.fixture
def study_file(tmp_path, monkeypatch):
    images, labels = synthetic_faces(280, seed=2)
    csv = write_fer_csv(tmp_path / "fer.csv", images, labels, ["Training"] * 196 + ["PublicTest"] * 84)
    ckpt = save_checkpoint(create_model("tiny_cnn"), ModelConfig(arch="tiny_cnn"), tmp_path / "tiny.safetensors")
    monkeypatch.setenv("STUDY_DATA", str(csv))
    spec = {
        "name": "mini", "n_boot": 100, "grid_samples": 4,
        "datasets": [{"name": "syn", "path": "${STUDY_DATA}", "limit": 40}],
        "degradations": [{"name": "none"}, {"name": "gaussian_blur", "severities": [3]}],
        "restorers": [{"name": "identity"}, {"name": "resize", "label": "bicubic96", "size": 96,
                                              "params": {"method": "bicubic"}}],
        "models": [
            {"name": "fixed", "model": "tiny_cnn", "weights": str(ckpt)},
            {"name": "trained", "train": {"model": "tiny_cnn", "epochs": 1, "batch_size": 32, "threads": 1,
                                          "early_stopping": None}},
            {"name": "absent", "model": "tiny_cnn", "weights": str(tmp_path / "nope.safetensors")},
        ],
    }
    path = tmp_path / "mini.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_spec_expands_environment_and_validates(study_file, monkeypatch):
    spec = StudySpec.load(study_file)
    assert spec.datasets[0].path.endswith("fer.csv")
    assert len(cells(spec)) == 2 * 2 * 3
    assert expand("${NOT_SET_ANYWHERE:-fallback}/x") == "fallback/x"
    bad = yaml.safe_load(study_file.read_text())
    bad["models"][0]["wieghts"] = "typo"
    with pytest.raises(ValidationError, match="wieghts"):
        StudySpec.model_validate(bad)
    for name in ("quick", "paper"):
        assert StudySpec.load(name).name == name  # the built-in studies parse


def test_small_study_end_to_end(study_file, tmp_path):
    results = tmp_path / "results"
    status = run_study(StudySpec.load(study_file), results, progress=False, say=lambda m: None)
    finished = [k for k, v in status.items() if v["status"] == "finished"]
    skipped = [k for k, v in status.items() if v["status"] == "skipped"]
    assert len(finished) == 8 and len(skipped) == 4, status
    assert all("absent" in k for k in skipped)
    run = json.loads((results / "runs" / "syn__gaussian_blur-3__bicubic96__trained" / "run.json").read_text())
    assert run["config"]["degradation"] == {"name": "gaussian_blur", "severity": 3}
    assert run["config"]["restorer"]["label"] == "bicubic96"
    assert {"degradation", "restoration", "training", "inference", "evaluation"} <= set(run["cost"])
    assert run["dataset"]["image_size"] == [96, 96]  # the restorer's output size
    metrics = json.loads((results / "runs" / "syn__none__identity__fixed" / "metrics.json").read_text())
    assert metrics["n"] == 40 and "deduplicated" in metrics
    assert (results / "audit-syn.json").exists() and (results / "models" / "trained" / "model.safetensors").exists()
    assert list((results / "artifacts" / "grids").glob("*.png"))
    store = pd.read_parquet(results / "store.parquet")
    assert len(store) == 8

    # A re-run skips every finished cell and trains nothing again.
    mtime = (results / "models" / "trained" / "model.safetensors").stat().st_mtime_ns
    said = []
    run_study(StudySpec.load(study_file), results, progress=False, say=said.append)
    assert any("0 to run" in m for m in said)
    assert (results / "models" / "trained" / "model.safetensors").stat().st_mtime_ns == mtime

    result = runner.invoke(app, ["report", str(results)])
    assert result.exit_code == 0, result.output
    html = next(results.rglob("report.html")).read_text()
    assert "bicubic96" in html and "gaussian_blur" in html


def test_cli_dry_run_and_parallel_cells(study_file, tmp_path):
    result = runner.invoke(app, ["run", str(study_file), "--dry-run"])
    assert result.exit_code == 0 and "syn__none__identity__fixed" in result.output
    assert "missing model absent" in " ".join(result.output.split())
    results = tmp_path / "par"
    result = runner.invoke(app, ["run", str(study_file), "--out", str(results), "--workers", "2", "--only",
                                 "none__identity__fixed", "-q"])
    assert result.exit_code == 0, result.output
    assert (results / "runs" / "syn__none__identity__fixed" / "metrics.json").exists()
    assert not (results / "runs" / "syn__none__bicubic96__fixed").exists()


def test_quick_study_uses_real_models_and_restores_small_faces():
    """The main job shows real models only; seconds-trained and random models live in the smoke study."""
    from ferbench.models.registry import DEFAULT_MODEL, get_model_entry

    quick = StudySpec.load("quick")
    assert all(m.train is None and m.weights is None for m in quick.models)  # packaged weights only
    names = {m.registered for m in quick.models}
    assert names == {"fernet_kd2", "fernet_robust2", "fernet_ensemble", "fernet", "mini_xception_64", "big_xception"}
    assert DEFAULT_MODEL in names  # the main job shows the model `ferbench predict` uses
    assert all(get_model_entry(m.registered).meta.get("family") != "clip" for m in quick.models)
    degradations = {d.name: d.severities for d in quick.degradations}
    assert {"downscale", "gaussian_blur", "gaussian_noise", "jpeg", "low_brightness"} <= set(degradations)
    assert all(len(s) >= 2 for name, s in degradations.items() if name != "none")
    assert quick.datasets[0].sample and quick.datasets[0].split == "PublicTest"
    # super-resolution only where the face is small, at the scale that brings it back to 48 px
    for c in cells(quick):
        if c.restorer.name == "opencv_sr":
            assert c.degradation == "downscale" and f"_x{c.severity}" in c.restorer.key
    smoke = StudySpec.load("smoke")
    assert any(m.train for m in smoke.models) and any(m.model == "clip" for m in smoke.models)


def test_downscaled_faces_reach_the_restorer_small(study_file, tmp_path):
    """A super-resolver gets the 24-px face, not a bicubic copy at 48 px; identity leaves the model's resize."""
    from ferbench.study.inputs import eval_dataset, prepare
    from ferbench.study.spec import RestorerSpec

    spec = StudySpec.load(study_file)
    faces = eval_dataset(spec.datasets[0])
    small, _ = prepare(faces, "downscale", 2, RestorerSpec(name="identity"), seed=0)
    assert small.image_size == (24, 24)
    restored, cost = prepare(faces, "downscale", 2, RestorerSpec(name="resize", params={"method": "bicubic"}, size=48),
                             seed=0)
    assert restored.image_size == (48, 48) and "restoration" in cost
    import cv2

    expected = cv2.resize(small.images[0], (48, 48), interpolation=cv2.INTER_CUBIC)
    assert (restored.images[0] == expected).all()  # bicubic from the small face, once


def test_smoke_study_runs_every_stage(tmp_path, monkeypatch):
    """The built-in smoke study (what tests and installation checks run) on synthetic faces."""
    from conftest import SHARED_MODELS
    from ferbench.models.vlm.tiny import build_tiny

    images, labels = synthetic_faces(140, seed=5)
    csv = write_fer_csv(tmp_path / "fer.csv", images, labels, ["Training"] * 98 + ["PublicTest"] * 42)
    monkeypatch.setenv("FERBENCH_DATA", str(csv))
    monkeypatch.setenv("FERBENCH_SMOKE_FACES", "28")
    monkeypatch.setenv("FERBENCH_MODELS", str(SHARED_MODELS))
    monkeypatch.setenv("FERBENCH_TINY_CLIP", str(build_tiny("open_clip", tmp_path / "clip")))
    result = runner.invoke(app, ["run", "smoke", "--out", str(tmp_path / "res"), "-q"])
    assert result.exit_code == 0, result.output
    status = json.loads((tmp_path / "res" / "status.json").read_text())
    finished = {k for k, v in status.items() if v["status"] == "finished"}
    assert "fer2013__none__identity__tiny_clip_random" in finished
    assert "fer2013__downscale-2__bicubic__fernet_seconds" in finished
    assert not any("tiny_clip" in k and "none" not in k for k in status)  # the CLIP sees clean faces only
    skipped = {k for k, v in status.items() if v["status"] == "skipped"}
    assert skipped <= {k for k in status if "fsrcnn" in k}  # only where ../shared/models is absent
    run = json.loads((tmp_path / "res" / "runs" / "fer2013__none__identity__mini_xception_64" / "run.json").read_text())
    assert run["config"]["sample"] == 28 and run["dataset"]["n"] == 28


def test_study_file_cannot_grant_remote_code(tmp_path, monkeypatch):
    """paper.yaml asks trust_remote_code for Phi-3.5: only the run's --trust-remote-code grants it."""
    from ferbench.study.runner import check_missing

    weights = tmp_path / "Phi-3.5-vision-instruct"
    weights.mkdir()
    monkeypatch.setenv("FERBENCH_WEIGHTS", str(tmp_path))
    spec = StudySpec.load("paper")
    assert "--trust-remote-code" in check_missing(spec)["model phi35_vision"]
    assert "model phi35_vision" not in check_missing(spec, trust_remote_code=True)


def test_model_options_choose_the_backend_and_are_part_of_the_cell(study_file, tmp_path):
    """`options: {backend: ...}` runs a study model on ONNX Runtime or in bf16; each backend is its own cell
    identity (recorded in run.json), and a misspelt backend is refused when the file is read."""
    spec = expand(yaml.safe_load(study_file.read_text()))
    fixed = spec["models"][0]
    spec["degradations"], spec["restorers"] = [{"name": "none"}], [{"name": "identity"}]
    spec["models"] = [fixed, {**fixed, "name": "ort", "options": {"backend": "onnxruntime"}},
                      {**fixed, "name": "bf16", "options": {"backend": "torch-bf16"}}]
    results = tmp_path / "backends"
    status = run_study(StudySpec.model_validate(spec), results, progress=False, say=lambda m: None)
    assert {v["status"] for v in status.values()} == {"finished"}, status
    runs = {m: json.loads((results / "runs" / f"syn__none__identity__{m}" / "run.json").read_text())
            for m in ("fixed", "ort", "bf16")}
    keys = {m: r["config"]["cell_key"] for m, r in runs.items()}
    assert len(set(keys.values())) == 3
    assert runs["ort"]["model"]["backend"] == "onnxruntime" and runs["bf16"]["model"]["precision"] == "bfloat16"
    acc = {m: json.loads((results / "runs" / f"syn__none__identity__{m}" / "metrics.json").read_text())["accuracy"]
           for m in runs}
    assert abs(acc["ort"] - acc["fixed"]) <= 0.05 and abs(acc["bf16"] - acc["fixed"]) <= 0.1  # 40 faces
    spec["models"][1]["options"]["backend"] = "onnx"
    with pytest.raises(ValidationError, match="expected one of torch, torch-bf16, onnxruntime"):
        StudySpec.model_validate(spec)
