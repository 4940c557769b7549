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


def test_model_identity_follows_every_file_the_model_loads(study):
    """A checkpoint's config sidecar and an ensemble's member weights decide results as much as the file named."""
    tmp, spec = study
    (tmp / "ens.json").write_text(json.dumps({"ferbench_ensemble": 1, "members": [
        {"model": "tiny_cnn", "weights": "w.safetensors"}, {"model": "tiny_cnn", "weights": "w2.safetensors"}]}))
    _weights(tmp / "w2.safetensors", 2)
    spec["models"] = [spec["models"][0], {"name": "ens", "model": "ensemble", "weights": str(tmp / "ens.json")}]
    out = tmp / "res"
    _run(spec, out)
    sidecar = tmp / "w.json"
    config = json.loads(sidecar.read_text())
    config["preprocess"]["mean"] = [0.4]  # read before the config inside the .safetensors
    sidecar.write_text(json.dumps(config))
    status, _ = _run(spec, out)
    assert status["syn__none__identity__fixed"]["changed"] == ["model weights"]
    assert status["syn__none__identity__ens"]["changed"] == ["model weights"]  # its first member
    _weights(tmp / "w2.safetensors", 3)  # only the second member changes
    status, _ = _run(spec, out)
    assert status["syn__none__identity__fixed"]["origin"] == "reused"
    assert status["syn__none__identity__ens"]["changed"] == ["model weights"]


def test_packaged_models_are_identified_by_their_own_files_not_the_docs_beside_them():
    from ferbench.models.files import packaged_files
    from ferbench.study.identity import packaged_weights_hash

    names = {m: {f.name for f in packaged_files(m)} for m in ("fernet", "fernet_robust", "fernet_ensemble")}
    assert names["fernet"] == {"fernet.safetensors", "fernet.json"}
    members = {"fernet_ensemble.json", "fernet_restart2.safetensors", "big_xception.safetensors"}
    assert members <= names["fernet_ensemble"]
    assert not any(n.endswith(".md") for files in names.values() for n in files)
    assert packaged_weights_hash("fernet") != packaged_weights_hash("fernet_robust")  # one change, one model's cells
