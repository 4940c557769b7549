"""The data CLI end to end, as a user runs it."""

import json
import subprocess
import sys

from typer.testing import CliRunner

from ferbench.cli.main import app

runner = CliRunner()


def test_version_and_help():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("ferbench ")
    for cmd in (["--help"], ["data", "--help"], ["data", "info", "--help"], ["data", "audit", "--help"]):
        result = runner.invoke(app, cmd)
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output


def test_info_json(fer_csv):
    result = runner.invoke(app, ["data", "info", str(fer_csv), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["n"] == 70 and info["image_size"] == [48, 48] and info["mode"] == "L"
    assert sum(info["counts"]["Training"].values()) == 42
    assert info["classes"][0] == "angry"


def test_info_bad_file_is_a_clean_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("emotion,pixels,Usage\n9,1 2 3 4,Training\n")
    result = runner.invoke(app, ["data", "info", str(bad)])
    assert result.exit_code == 2
    assert "bad.csv, row 0 (line 2): label 9 out of range" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_audit_writes_json_and_clean_split(fer_csv, tmp_path):
    out, clean = tmp_path / "audit.json", tmp_path / "clean.json"
    result = runner.invoke(app, ["data", "audit", str(fer_csv), "-o", str(out), "--write-clean-split", str(clean)])
    assert result.exit_code == 0, result.output
    assert "duplicate groups" in result.output
    report = json.loads(out.read_text())
    assert report["n"] == 70 and "exact" in report and "near" in report
    assert set(json.loads(clean.read_text())["splits"]) == {"PublicTest", "PrivateTest"}


def test_module_entry_point(fer_csv):
    proc = subprocess.run([sys.executable, "-m", "ferbench", "data", "info", str(fer_csv), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["n"] == 70
