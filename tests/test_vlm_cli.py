"""The VLM commands end to end on a synthetic FER CSV, as a user runs them."""

import json

from helpers import tiny_dir
from typer.testing import CliRunner

from ferbench.cli.main import app

runner = CliRunner()


def invoke(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def test_eval_clip_records_cost(fer_csv, tmp_path):
    invoke("eval", "--model", "clip", "--weights", tiny_dir("open_clip"), "--data", fer_csv, "--split", "PublicTest",
           "-o", tmp_path / "run", "--n-boot", "20", "-q", "--option", "prompts=simple")
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["status"] == "finished" and run["model"]["zero_shot"]["prompts"] == "simple"
    assert run["cost"]["inference"]["items"] == 14 and run["cost"]["inference"]["items_per_s"] > 0
    assert run["cost"]["model"]["params"] > 0 and run["cost"]["model"]["flops_per_image"] > 0


def test_eval_vlm_generate_counts_unparsed(fer_csv, tmp_path):
    invoke("eval", "--model", "llava", "--weights", tiny_dir("llava"), "--data", fer_csv, "--split", "PublicTest",
           "-o", tmp_path / "run", "--n-boot", "20", "-q", "--option", "mode=generate", "--option", "max_new_tokens=4")
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert run["cost"]["inference_extra"]["unparsed"] == metrics["n_unscored"]
    assert run["cost"]["inference_extra"]["input_tokens"] > 0
    records = [json.loads(line) for line in (tmp_path / "run" / "predictions.jsonl").read_text().splitlines()]
    assert all("raw" in r for r in records)
    assert all((r["prediction"] is None) == (r["probabilities"] is None) for r in records)


def test_prompt_sensitivity_table(fer_csv, tmp_path):
    result = invoke("vlm", "prompts", "--model", "clip", "--weights", tiny_dir("open_clip"), "--data", fer_csv,
                    "--prompt", "simple", "--prompt", "fer_lowres", "-o", tmp_path / "prompts", "--n-boot", "20",
                    "--json", "-q")
    rows = json.loads(result.stdout)
    assert [r["prompt"] for r in rows] == ["simple", "fer_lowres"]
    assert all(r["n"] == 14 and 0 <= r["accuracy"] <= 1 for r in rows)
    assert (tmp_path / "prompts" / "fer_lowres" / "metrics.json").exists()
    assert "vlm_prompts" in invoke("vlm", "prompts", "--list").output


def test_probe_then_eval(fer_csv, tmp_path):
    invoke("vlm", "probe", "--model", "clip", "--weights", tiny_dir("open_clip"), "--data", fer_csv, "--C", "1",
           "-o", tmp_path / "probe", "-q")
    config = json.loads((tmp_path / "probe.json").read_text())
    assert config["arch"] == "clip_classifier" and config["provenance"]["report"]["n_train"] == 42
    invoke("eval", "--weights", tmp_path / "probe.safetensors", "--data", fer_csv, "-o", tmp_path / "run",
           "--n-boot", "20", "-q")
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["n"] == 14


def test_remote_code_refused_with_a_clear_message(fer_csv, tmp_path):
    result = runner.invoke(app, ["eval", "--model", "phi35_vision", "--weights", str(tiny_dir("llava")),
                                 "--data", str(fer_csv), "-o", str(tmp_path / "run")])
    assert result.exit_code == 2 and "--trust-remote-code" in result.output
