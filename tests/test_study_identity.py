"""A study's results always match its configuration: cell identities, re-runs of an edited study, the run
lock, and predictions files without stale or duplicate lines."""

import json

import pytest
import yaml
from typer.testing import CliRunner

from conftest import synthetic_faces, write_fer_csv
from ferbench.cli.main import app
from ferbench.models import create_model
from ferbench.models.checkpoint import save_checkpoint
from ferbench.models.config import ModelConfig
from ferbench.study.runner import LOCK, run_study
from ferbench.study.spec import StudySpec
from ferbench.utils.locks import Busy, folder_lock

runner = CliRunner()


def _weights(path, seed):
    import torch

    torch.manual_seed(seed)
    return save_checkpoint(create_model("tiny_cnn"), ModelConfig(arch="tiny_cnn"), path)


def _data(path, seed):
    images, labels = synthetic_faces(140, seed=seed)
    return write_fer_csv(path, images, labels, ["Training"] * 98 + ["PublicTest"] * 42)


@pytest.fixture
def study(tmp_path):
    spec = {"name": "edit", "n_boot": 20, "grid_samples": 2,
            "datasets": [{"name": "syn", "path": str(_data(tmp_path / "fer.csv", 1)), "limit": 30}],
            "models": [{"name": "fixed", "model": "tiny_cnn", "weights": str(_weights(tmp_path / "w.safetensors", 0))},
                       {"name": "trained", "train": {"model": "tiny_cnn", "epochs": 1, "batch_size": 32, "threads": 1,
                                                     "early_stopping": None}}]}
    return tmp_path, spec


def _run(spec, out):
    said = []
    status = run_study(StudySpec.model_validate(spec), out, progress=False, say=said.append)
    return status, " ".join(said)


def _predictions(out, cell):
    lines = (out / "runs" / cell / "predictions.jsonl").read_text().splitlines()
    return [json.loads(line)["id"] for line in lines]


def test_edited_study_recomputes_what_changed_and_keeps_the_rest(study):
    tmp, spec = study
    out = tmp / "res"
    status, _ = _run(spec, out)
    assert {s["origin"] for s in status.values()} == {"new"}

    status, said = _run(spec, out)  # unchanged: everything reused, nothing trained again
    assert "2 reused, 0 recomputed" in said and "training" not in said

    spec["datasets"][0]["limit"] = 20
    status, said = _run(spec, out)
    assert "0 reused, 2 recomputed because limit changed" in said
    for cell in ("syn__none__identity__fixed", "syn__none__identity__trained"):
        assert json.loads((out / "runs" / cell / "metrics.json").read_text())["n"] == 20
        ids = _predictions(out, cell)
        assert len(ids) == 20 == len(set(ids))  # no stale and no duplicate lines
        assert (out / "retired" / cell / "run.json").exists()  # the replaced run is kept aside, not reported

    _weights(tmp / "w.safetensors", 1)  # other weights in the same file
    status, said = _run(spec, out)
    assert status["syn__none__identity__fixed"]["changed"] == ["model weights"]
    assert status["syn__none__identity__trained"]["origin"] == "reused"

    spec["models"][0]["options"] = {"tta": "flip"}
    status, said = _run(spec, out)
    assert "1 reused, 1 recomputed because model options changed" in said


def test_changed_data_file_or_training_settings_retrain_without_asking_for_resume(study):
    tmp, spec = study
    out = tmp / "res"
    _run(spec, out)
    (out / "models" / "trained" / "checkpoints" / "last.ckpt").touch()  # as an interrupted training leaves it
    _data(tmp / "fer.csv", 2)  # same path, other content
    status, said = _run(spec, out)
    assert all(s["status"] == "finished" for s in status.values()), status
    assert status["syn__none__identity__fixed"]["changed"] == ["dataset file"]
    assert "training it again from scratch" in said
    spec["models"][1]["train"]["epochs"] = 2
    status, said = _run(spec, out)
    assert status["syn__none__identity__trained"]["changed"] == ["training settings or data"]
    assert status["syn__none__identity__fixed"]["origin"] == "reused"
    assert json.loads((out / "models" / "trained" / "train.json").read_text())["epochs_run"] == 2


def test_cells_removed_from_the_study_leave_the_report(study):
    tmp, spec = study
    out = tmp / "res"
    _run(spec, out)
    spec["models"] = spec["models"][:1]
    _, said = _run(spec, out)
    assert "1 run(s) of cells no longer in the study moved" in said
    assert [p.name for p in (out / "runs").iterdir()] == ["syn__none__identity__fixed"]
    from ferbench.runs.store import runs_frame

    assert runs_frame(out)["model"].tolist() == ["fixed"]


def test_resumed_cell_appends_no_duplicates(study):
    tmp, spec = study
    out = tmp / "res"
    spec["models"] = spec["models"][:1]
    _run(spec, out)
    cell = out / "runs" / "syn__none__identity__fixed"
    lines = (cell / "predictions.jsonl").read_text().splitlines(keepends=True)
    (cell / "predictions.jsonl").write_text("".join(lines[:12]))  # killed mid-run
    (cell / "metrics.json").unlink()
    run = json.loads((cell / "run.json").read_text())
    (cell / "run.json").write_text(json.dumps({**run, "status": "running"}))
    status, said = _run(spec, out)
    assert status["syn__none__identity__fixed"]["origin"] == "resumed" and "1 resumed" in said
    ids = _predictions(out, "syn__none__identity__fixed")
    assert len(ids) == 30 == len(set(ids))


def test_second_run_into_the_same_folder_is_refused(study):
    tmp, spec = study
    out = tmp / "res"
    path = tmp / "edit.yaml"
    path.write_text(yaml.safe_dump(spec))
    with folder_lock(out, "test", LOCK):
        with pytest.raises(Busy, match="another"):
            _run(spec, out)
        result = runner.invoke(app, ["run", str(path), "--out", str(out), "-q"])
    assert result.exit_code == 2, result.output
    assert "another `ferbench run` is writing into this folder" in " ".join(result.output.split())
    assert not (out / "runs").exists()
    result = runner.invoke(app, ["run", str(path), "--out", str(out), "-q", "--only", "fixed"])  # lock released
    assert result.exit_code == 0, result.output
    assert "0 reused, 0 recomputed, 1 new" in " ".join(result.output.split())
