"""Hostile but realistic input to eval and the registries: clear errors (exit code 2) naming the file,
option or name and the problem, never a traceback, a silently changed meaning or a made-up number."""

import json

import pytest
from typer.testing import CliRunner

from ferbench.cli.main import app
from ferbench.models import create_model
from ferbench.models.checkpoint import save_checkpoint
from ferbench.models.config import ModelConfig

runner = CliRunner()


@pytest.fixture
def ckpt(tmp_path):
    return save_checkpoint(create_model("tiny_cnn"), ModelConfig(arch="tiny_cnn"), tmp_path / "m.safetensors")


def _eval(*args):
    return runner.invoke(app, ["eval", "-q", "--n-boot", "50", *map(str, args)])


@pytest.mark.parametrize("damage", ["pickle", "truncated"])
def test_bad_safetensors_file_is_named(fer_csv, ckpt, tmp_path, damage):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x80\x04K\x01." if damage == "pickle" else ckpt.read_bytes()[:200])
    (tmp_path / "bad.json").write_text((tmp_path / "m.json").read_text())
    result = _eval("--data", fer_csv, "--checkpoint", bad, "--limit", 5, "--out", tmp_path / "run")
    assert result.exit_code == 2
    assert f"{bad}: not a readable .safetensors checkpoint" in result.output
    assert "Traceback" not in result.output


def test_unknown_names_suggest_close_ones_without_stray_quotes(fer_csv, ckpt):
    result = _eval("--data", fer_csv, "--model", "resnet5", "--weights", ckpt)
    assert result.exit_code == 2
    line = " ".join(result.stderr.split())
    assert "unknown model 'resnet5'; did you mean resnet50" in line and not line.startswith("error: \"'")
    assert "'unknown" not in line and line.rstrip().endswith(")")
    from ferbench.degrade.registry import DEGRADATIONS
    from ferbench.restore.registry import RESTORERS

    for registry, typo, right in ((RESTORERS, "gfpgna", "gfpgan"), (DEGRADATIONS, "jepg", "jpeg")):
        with pytest.raises(KeyError) as err:
            registry.get(typo)
        assert str(err.value).startswith(f"unknown {registry.kind} '{typo}'; did you mean {right}")


def _csv(tmp_path, usages, header="emotion,pixels,Usage", name="f.csv"):
    from conftest import synthetic_faces, write_fer_csv

    images, labels = synthetic_faces(len(usages))
    return write_fer_csv(tmp_path / name, images, labels, usages, header=header)


@pytest.mark.parametrize("kind", ["training_only", "no_usage_column"])
def test_training_rows_are_never_scored_by_default(tmp_path, ckpt, kind):
    data = _csv(tmp_path, ["Training"] * 8, header="emotion,pixels,Usage" if kind == "training_only"
                else "emotion,pixels")
    present = "Training (8 rows)" if kind == "training_only" else "Unsplit (8 rows)"
    result = _eval("--data", data, "--checkpoint", ckpt, "--out", tmp_path / "run")
    assert result.exit_code == 2 and not (tmp_path / "run").exists()
    message = " ".join(result.stderr.split())
    assert f"has no PublicTest or PrivateTest rows (splits present: {present})" in message and "--split" in message
    result = _eval("--data", data, "--checkpoint", ckpt, "--out", tmp_path / "run", "--split", present.split()[0])
    assert result.exit_code == 0, result.output  # asked for explicitly: fine
    from ferbench.data import DataError, load_dataset
    from ferbench.study.inputs import eval_split
    from ferbench.study.spec import DatasetSpec

    with pytest.raises(DataError, match="has no PublicTest or PrivateTest rows"):  # studies' split: auto
        eval_split(DatasetSpec(path=str(data)), load_dataset(data))


@pytest.mark.parametrize("limit", ["0", "-5"])
def test_limit_below_one_is_refused(fer_csv, ckpt, tmp_path, limit):
    result = _eval("--data", fer_csv, "--checkpoint", ckpt, "--limit", limit, "--out", tmp_path / "run")
    assert result.exit_code == 2 and "--limit" in result.output and not (tmp_path / "run").exists()
    from ferbench.data import load_dataset

    with pytest.raises(ValueError, match="must be a whole number of samples, at least 1"):
        load_dataset(fer_csv).select("PublicTest", limit=int(limit))


def test_on_bad_skip_that_leaves_nothing_is_refused(tmp_path, ckpt):
    data = tmp_path / "bad.csv"
    data.write_text("emotion,pixels,Usage\n9,1 2 3,PublicTest\nx,4 5 6,PublicTest\n")
    for args in (["data", "info", str(data)], ["eval", "-q", "--data", str(data), "--checkpoint", str(ckpt)]):
        result = runner.invoke(app, [*args, "--on-bad", "skip"])
        assert result.exit_code == 2 and "no usable rows: all 2 rows are bad" in result.output, result.output


def test_exclude_leaked_file_of_the_wrong_shape_is_named_before_any_loading(tmp_path, ckpt):
    for content in ("[1, 2]", '{"splits": {"PublicTest": [1, 2]}}', "{not json"):
        clean = tmp_path / "clean.json"
        clean.write_text(content)
        result = _eval("--data", tmp_path / "missing.csv", "--checkpoint", tmp_path / "missing.safetensors",
                       "--exclude-leaked", clean)
        assert result.exit_code == 2 and str(clean) in result.output, result.output
        assert "not a clean-split file" in result.output or "cannot read JSON" in result.output
        assert "missing.csv" not in result.output  # refused before the data (and the model) are loaded


def test_split_not_covered_by_the_clean_file_gets_no_deduplicated_number(fer_csv, ckpt, tmp_path):
    from ferbench.data import load_dataset
    from ferbench.models import load_predictor
    from ferbench.runs.evaluate import evaluate

    ds = load_dataset(fer_csv)
    kept = ds.ids[ds.splits == "PublicTest"].tolist()[:10]
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps({"source_sha256": ds.source_hash, "splits": {"PublicTest": {"kept": kept,
                                                                                            "excluded": []}}}))
    result = _eval("--data", fer_csv, "--checkpoint", ckpt, "--split", "Training", "--exclude-leaked", clean,
                   "--out", tmp_path / "run")
    assert result.exit_code == 2 and "has no de-duplicated list for Training (it covers PublicTest)" in result.stderr
    result = _eval("--data", fer_csv, "--checkpoint", ckpt, "--split", "PublicTest", "--exclude-leaked", clean,
                   "--out", tmp_path / "ok")
    assert result.exit_code == 0 and json.loads((tmp_path / "ok" / "metrics.json").read_text())["deduplicated"]["n"] == 10
    metrics = evaluate(load_predictor(None, ckpt), ds.select("Training", limit=5), tmp_path / "lib", {}, n_boot=20,
                       clean_ids=[], progress=False)
    assert "deduplicated" not in metrics  # not available, never 0.0 at n = 0
