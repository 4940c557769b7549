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
