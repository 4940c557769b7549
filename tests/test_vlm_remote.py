"""The OpenAI-compatible backend against a fake server on 127.0.0.1: retries, cache, concurrency, accounting."""

import json

import numpy as np
import pytest
from helpers import faces

from ferbench.data.dataset import Dataset
from ferbench.emotions import EMOTIONS
from ferbench.models import load_predictor
from ferbench.models.vlm.fake_server import FakeChatServer
from ferbench.models.vlm.remote import RemoteError
from ferbench.runs.evaluate import evaluate
from ferbench.utils.io import cache_dir


def by_brightness(image: np.ndarray, question: str) -> str:
    """A deterministic 'model': the answer depends on the image; every fourth one is unparseable."""
    k = int(image.mean()) % 8
    return "I cannot tell." if k % 4 == 3 else f"The person looks {EMOTIONS[k % 7]}."


def remote(server, **kw):
    return load_predictor("remote", None, base_url=server.url, model="fake-vlm", backoff_s=0.01, **kw)


def test_retries_on_429_500_and_timeouts():
    images = faces(6)
    with FakeChatServer(by_brightness, failures=[429, 500, "hang", 503], hang_s=2.5) as server:
        out = remote(server, timeout_s=1.0, concurrency=2).predict(images)
    assert out.extra["retries"] == 4 and out.extra["requests"] == 6 and server.requests == 10
    expected = [by_brightness(im, "") for im in images]
    assert out.raw == expected
    assert out.extra["unparsed"] == sum("cannot" in t for t in expected)
    assert np.isnan(out.proba).all()


def test_gives_up_after_max_retries_and_never_retries_a_4xx():
    with FakeChatServer(failures=[500] * 3) as server:
        with pytest.raises(RemoteError, match="after 3 attempts"):
            remote(server, max_retries=2, cache=False).predict(faces(1))
        assert server.requests == 3
    with FakeChatServer(failures=[400]) as server:
        with pytest.raises(RemoteError, match="HTTP 400"):
            remote(server, cache=False).predict(faces(1))
        assert server.requests == 1


def test_bounded_concurrency():
    with FakeChatServer(delay_s=0.3) as server:
        remote(server, concurrency=3, cache=False).predict(faces(9))
    assert server.max_in_flight == 3


def test_cache_makes_a_rerun_free():
    images = faces(5, rgb=True)
    with FakeChatServer(by_brightness) as server:
        first = remote(server).predict(images)
        again = remote(server).predict(images)
        assert server.requests == 5
        assert again.raw == first.raw and again.extra["cache_hits"] == 5 and again.extra["prompt_tokens"] == 0
        other = remote(server, prompt="choice").predict(images[:2])  # another prompt is another request
        assert server.requests == 7 and other.extra["requests"] == 2
    files = sorted(cache_dir("remote").rglob("*.json"))
    assert len(files) == 7 and json.loads(files[0].read_text())["model"] == "fake-vlm"
    assert first.extra["prompt_tokens"] > 0 and first.extra["completion_tokens"] > 0 and first.extra["latency_s"] > 0


def test_tokens_and_latency_reach_run_json(tmp_path):
    images = faces(10)
    ds = Dataset(images=images, labels=np.arange(10) % 7, splits=np.array(["PublicTest"] * 10),
                 ids=np.array([str(i) for i in range(10)]), source="synthetic", source_hash="0" * 64)
    with FakeChatServer(by_brightness) as server:
        metrics = evaluate(remote(server, batch_size=4), ds, tmp_path / "a", {"model": "remote"}, n_boot=10,
                           progress=False)
        evaluate(remote(server, batch_size=4), ds, tmp_path / "b", {"model": "remote"}, n_boot=10, progress=False)
    cost_a = json.loads((tmp_path / "a" / "run.json").read_text())["cost"]["inference_extra"]
    cost_b = json.loads((tmp_path / "b" / "run.json").read_text())["cost"]["inference_extra"]
    assert cost_a["requests"] == 10 and cost_a["prompt_tokens"] > 0
    assert cost_b["requests"] == 0 and cost_b["cache_hits"] == 10 and cost_b["prompt_tokens"] == 0
    assert metrics["n_unscored"] == cost_a["unparsed"]


def test_options_are_checked():
    with pytest.raises(ValueError, match="model=NAME"):
        load_predictor("ollama", None)
    with pytest.raises(ValueError, match="no --weights"):
        load_predictor("remote", "some/dir", model="x")
    assert load_predictor("ollama", None, model="llava").base_url == "http://127.0.0.1:11434/v1"


@pytest.mark.parametrize("name", ["remote", "vllm", "ollama", "llamacpp"])
def test_eval_passes_an_option_named_model_through(fer_csv, tmp_path, name):
    from typer.testing import CliRunner

    from ferbench.cli.main import app

    with FakeChatServer(by_brightness) as server:
        result = CliRunner().invoke(app, ["eval", "-q", "-m", name, "--option", "model=fake-vlm", "--option",
                                          f"base_url={server.url}", "--option", "cache=false", "--data",
                                          str(fer_csv), "--limit", "3", "--n-boot", "20", "--out", str(tmp_path / name)])
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / name / "run.json").read_text())
    assert run["model"]["options"]["model"] == "fake-vlm" and server.requests == 3
