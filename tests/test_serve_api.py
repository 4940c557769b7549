"""``ferbench serve``'s REST API through FastAPI's test client: real FER-2013 crops and synthetic images,
every kind of bad input (4xx with a JSON error, never a 500), the model card's figures, batching, and the
same record as ``ferbench predict --json``."""

from __future__ import annotations

import base64
import csv
import gzip
import io
import json
import threading
import time

import numpy as np
import pytest
from PIL import Image

from conftest import SHARED_CSV, needs_shared, synthetic_faces
from ferbench.emotions import EMOTIONS
from ferbench.models.predictor import Prediction, Predictor

pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install ferbench[serve])")
from fastapi.testclient import TestClient  # noqa: E402

from ferbench.serve import PredictService, ServeConfig, create_app  # noqa: E402
from ferbench.serve.batching import BatchingPredictor, Busy  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from ferbench.models import create_model, load_predictor
    from ferbench.models.checkpoint import save_checkpoint
    from ferbench.models.config import ModelConfig

    path = save_checkpoint(create_model("tiny_cnn"), ModelConfig(arch="tiny_cnn"),
                           tmp_path_factory.mktemp("m") / "tiny.safetensors")
    return load_predictor("tiny_cnn", path)


def _client(predictor, **config) -> TestClient:
    return TestClient(create_app(PredictService(predictor, ServeConfig(**config))))


@pytest.fixture(scope="module")
def client(tiny):
    with _client(tiny, max_upload_bytes=2_000_000, max_pixels=4_000_000) as c:
        yield c


def png(array: np.ndarray, **save) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", **save)
    return buf.getvalue()


def shared_crops(n: int) -> list[np.ndarray]:
    with gzip.open(SHARED_CSV, "rt") as f:
        rows = [row for _, row in zip(range(n), csv.DictReader(f))]
    return [np.array(r["pixels"].split(), dtype=np.uint8).reshape(48, 48) for r in rows]


def without_path(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "path"}


@needs_shared(SHARED_CSV)
def test_real_face_crops_by_multipart_json_and_raw_body_agree(client):
    for k, crop in enumerate(shared_crops(3)):
        data = png(crop)
        r = client.post("/predict", files={"file": (f"dir/../face{k}.png", data, "image/png")})
        assert r.status_code == 200, r.text
        record = r.json()
        assert record["path"] == f"face{k}.png"  # only the last component of the client's name is echoed
        assert (record["width"], record["height"]) == (48, 48)
        (face,) = record["faces"]
        assert face["box"] == [0, 0, 48, 48] and face["whole_image"] is True and face["label"] in EMOTIONS
        assert list(face["probabilities"]) == list(EMOTIONS)
        assert sum(face["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
        by_json = client.post("/predict", json={"image": base64.b64encode(data).decode(), "filename": "x.png"})
        by_data_url = client.post("/predict", json={"image": "data:image/png;base64," + base64.b64encode(data).decode()})
        raw = client.post("/predict", content=data, headers={"content-type": "image/png"})
        assert by_json.json()["path"] == "x.png" and raw.json()["path"] == "upload"
        for other in (by_json, by_data_url, raw):
            assert other.status_code == 200 and without_path(other.json()) == without_path(record)


def test_synthetic_photo_without_face_says_so(client):
    noise = np.random.default_rng(0).integers(0, 255, (400, 600), dtype=np.uint8)
    r = client.post("/predict", files={"file": ("noise.png", png(noise), "image/png")})
    assert r.status_code == 200
    assert r.json()["faces"] == [] and r.json()["message"] == "no face found"
    forced = client.post("/predict?detect=never", files={"file": ("noise.png", png(noise), "image/png")})
    assert forced.json()["faces"][0]["box"] == [0, 0, 600, 400]
    by_form = client.post("/predict", files={"file": ("noise.png", png(noise), "image/png")}, data={"detect": "never"})
    assert by_form.json() == forced.json()


def _bomb() -> bytes:
    # 9000 × 9000 one-bit pixels: 81 M pixels, over twice Pillow's MAX_IMAGE_PIXELS as ferbench sets it
    # (40 M), in a ~10 kB file: Pillow's DecompressionBombError, raised from the header alone.
    buf = io.BytesIO()
    Image.new("1", (9000, 9000)).save(buf, format="PNG")
    return buf.getvalue()


GOOD = png(synthetic_faces(1)[0][0])
BAD_CASES = {
    "empty raw body": (dict(content=b"", headers={"content-type": "image/png"}), 400, "empty image"),
    "empty file": (dict(files={"file": ("a.png", b"", "image/png")}), 400, "empty image"),
    "multipart without file": (dict(files={"other": ("a.png", GOOD, "image/png")}), 400, "field named 'file'"),
    "not an image": (dict(files={"file": ("a.png", b"GIF89a but not really", "image/png")}), 400, "not an image"),
    "truncated image": (dict(files={"file": ("a.png", GOOD[:60], "image/png")}), 400, "image"),
    "text/plain": (dict(content=b"hello", headers={"content-type": "text/plain"}), 415, "unsupported Content-Type"),
    "no content type": (dict(content=b"hello"), 415, "unsupported Content-Type"),
    "invalid JSON": (dict(content=b"{nope", headers={"content-type": "application/json"}), 400, "not valid JSON"),
    "JSON array": (dict(json=[1, 2]), 400, "must be an object"),
    "JSON names a server path": (dict(json={"path": "/etc/passwd"}), 400, "never opens files"),
    "JSON names a URL": (dict(json={"image": "", "url": "http://example.invalid/a.jpg"}), 400, "never opens files"),
    "JSON unknown field": (dict(json={"image": "", "colour": 1}), 400, "colour"),
    "JSON without image": (dict(json={"detect": "auto"}), 400, "image"),
    "bad base64": (dict(json={"image": "not base64!"}), 400, "not valid base64"),
    "bad detect in JSON": (dict(json={"image": base64.b64encode(GOOD).decode(), "detect": "sometimes"}), 400,
                           "detect"),
    "bad detect in query": (dict(params={"detect": "sometimes"}, files={"file": ("a.png", GOOD, "image/png")}), 400,
                            "detect='sometimes'"),
    "declared body too large": (dict(content=b"x" * 2_000_001, headers={"content-type": "image/png"}), 413,
                                "too large"),
    "decompression bomb": (dict(files={"file": ("bomb.png", _bomb(), "image/png")}), 413, "too large"),
    "more pixels than the server allows": (dict(files={"file": ("big.png", png(np.zeros((2001, 2000), np.uint8)),
                                                                "image/png")}), 413, "4,000,000"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_gets_4xx_with_a_json_error(client, case):
    kwargs, status, words = BAD_CASES[case]
    r = client.post("/predict", **kwargs)  # a server error would raise here (raise_server_exceptions)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json" and words in r.json()["error"]


def test_chunked_body_over_the_limit_is_cut_off(tiny):
    with _client(tiny, max_upload_bytes=1000) as c:
        r = c.post("/predict", content=iter([b"x" * 600, b"x" * 600]), headers={"content-type": "image/png"})
        assert r.status_code == 413 and "1,000 bytes" in r.json()["error"]
        assert c.post("/predict", files={"file": ("a.png", GOOD, "image/png")}).status_code == 413  # > 1000 B


def test_routes_and_methods_answer_json_errors(client):
    assert client.get("/predict").status_code == 405 and "error" in client.get("/predict").json()
    assert client.get("/nowhere").status_code == 404 and client.get("/nowhere").json() == {"error": "Not Found"}
    assert client.get("/static/../service.py").status_code == 404


def test_health_models_docs_and_offline_page(client, tiny):
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["model"] == tiny.name and health["batches"] >= 1
    (info,) = client.get("/models").json()["models"]
    assert info["name"] == tiny.name and info["classes"] == list(EMOTIONS)
    assert info["accuracy"] is None  # random weights have no model card: no number is made up
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/json", "image/*"} <= set(body)
    page = client.get("/")
    assert page.status_code == 200 and 'id="file"' in page.text and "/static/app.js" in page.text
    for asset in ("/", "/static/app.js", "/static/style.css"):
        text = client.get(asset).text
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, asset  # works offline


def test_models_reports_the_model_cards_accuracy():
    from ferbench.models.card import CARD, card_result, card_results

    results = card_results()
    assert {"fernet_ensemble", "fernet"} <= set(results)
    body = CARD.read_text()
    for name, r in results.items():  # the front matter repeats the card's tables, never other numbers
        low, high = r["accuracy_ci95"]
        assert f"{r['accuracy']:.2%} [{low * 100:.2f}, {high * 100:.2f}]" in body, name

    class Named(Predictor):
        name = "fernet"

        def predict(self, images):
            raise AssertionError

    service = PredictService(Named(), card=card_result("fernet"))
    try:
        info = service.model_info()
        assert info["accuracy"] == 0.6768 and info["split"] == "PublicTest" and "ferbench eval" in info["measured_by"]
    finally:
        service.close()


class Recorder(Predictor):
    """Returns each image's first pixel as its 'class' so callers can check they got their own rows back."""

    def __init__(self, delay: float = 0.0, gate: threading.Event | None = None, fail: bool = False):
        self.batches: list[int] = []
        self.delay, self.gate, self.fail = delay, gate, fail

    def predict(self, images):
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail:
            raise RuntimeError("model exploded")
        time.sleep(self.delay)
        self.batches.append(len(images))
        proba = np.zeros((len(images), 7), np.float32)
        proba[np.arange(len(images)), images[:, 0, 0] % 7] = 1
        return Prediction.from_proba(proba)


def test_requests_arriving_together_share_a_forward_pass():
    model = Recorder(delay=0.05)
    batcher = BatchingPredictor(model, max_batch=4, max_wait_s=0.2)
    start, results = threading.Barrier(8), {}

    def call(k):
        with batcher.arriving():  # as the service does while it decodes the request's image
            start.wait()
            results[k] = batcher.predict(np.full((1, 48, 48), k, np.uint8)).pred.tolist()

    threads = [threading.Thread(target=call, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    batcher.close()
    assert results == {k: [k % 7] for k in range(8)}  # each caller got its own row
    assert sum(model.batches) == 8 and max(model.batches) <= 4 and len(model.batches) <= 3
    assert batcher.stats["calls"] == 8 and batcher.stats["batches"] == len(model.batches)


def test_a_lone_request_does_not_wait_for_company():
    model = Recorder()
    batcher = BatchingPredictor(model, max_wait_s=2.0)
    started = time.monotonic()
    with batcher.arriving():
        batcher.predict(np.zeros((1, 48, 48), np.uint8))
    alone = time.monotonic() - started
    batcher.close()
    assert alone < 1.0 and model.batches == [1]


def test_full_queue_refuses_and_model_errors_reach_every_caller():
    gate = threading.Event()
    batcher = BatchingPredictor(Recorder(gate=gate), max_batch=1, max_wait_s=0, max_queue=1)
    face = np.zeros((1, 48, 48), np.uint8)
    first = threading.Thread(target=batcher.predict, args=(face,))
    first.start()
    deadline = time.monotonic() + 5
    while batcher.waiting and time.monotonic() < deadline:  # the worker takes the first job and blocks on it
        time.sleep(0.01)
    second = threading.Thread(target=batcher.predict, args=(face,))
    second.start()
    while not batcher.waiting and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(Busy, match="queue is full"):
        batcher.predict(face)
    gate.set()
    first.join(5), second.join(5)
    batcher.close()

    failing = BatchingPredictor(Recorder(fail=True))
    with pytest.raises(RuntimeError, match="model exploded"):
        failing.predict(face)
    with pytest.raises(RuntimeError, match="model exploded"):  # the worker survived the first error
        failing.predict(face)
    failing.close()


def test_a_busy_model_answers_503(tiny):
    service = PredictService(tiny)
    service.batcher.predict = lambda images: (_ for _ in ()).throw(Busy("the model's queue is full"))
    with TestClient(create_app(service)) as c:
        r = c.post("/predict", files={"file": ("a.png", GOOD, "image/png")})
    assert r.status_code == 503 and r.headers["retry-after"] == "1" and "queue is full" in r.json()["error"]


def test_predict_matches_ferbench_predict_json_on_a_photo(tmp_path):
    """The issue's bar: the server answers a photo exactly as ``ferbench predict --json`` does."""
    from matplotlib import cbook
    from typer.testing import CliRunner

    from ferbench.cli.main import app
    from ferbench.serve import load_service

    photo = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)  # a public-domain portrait
    result = CliRunner().invoke(app, ["predict", str(photo), "--model", "fernet", "--json"])
    assert result.exit_code == 0, result.output
    (expected,) = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(expected["faces"]) == 1
    service = load_service("fernet")
    with TestClient(create_app(service)) as c:
        with open(photo, "rb") as f:
            got = c.post("/predict", files={"file": ("grace_hopper.jpg", f, "image/jpeg")}).json()
        assert got == {**expected, "path": "grace_hopper.jpg"}
        assert c.get("/models").json()["models"][0]["accuracy"] == 0.6768


def test_serve_command_refuses_bad_options_cleanly():
    from typer.testing import CliRunner

    from ferbench.cli.main import app

    runner = CliRunner()
    result = runner.invoke(app, ["serve", "--model", "no_such_model"])
    assert result.exit_code == 2 and "no_such_model" in result.output
    result = runner.invoke(app, ["serve", "--model", "fernet", "--log-level", "loud"])
    assert result.exit_code == 2 and "--log-level" in result.output
    result = runner.invoke(app, ["serve", "--model", "fernet", "--detector", "eyeballs"])
    assert result.exit_code == 2 and "--detector 'eyeballs'" in result.output
    result = runner.invoke(app, ["serve", "--model", "fernet", "--backend", "onnx"])
    assert result.exit_code == 2 and "backend 'onnx'" in result.output


def test_serve_runs_the_model_on_the_chosen_backend():
    from ferbench.models.onnx_predictor import OnnxPredictor
    from ferbench.serve import load_service

    service = load_service("fernet", backend="onnxruntime")
    try:
        assert isinstance(service.model, OnnxPredictor)
        assert service.model_info().get("accuracy") is None  # the card measured torch float32, not this engine
    finally:
        service.close()
