"""``ferbench predict``: inputs of every kind, detection, JSON/CSV output, no-face and bad-file messages."""

import json

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import SHARED_CSV, needs_shared, synthetic_faces
from ferbench.cli.main import app
from ferbench.emotions import EMOTIONS
from ferbench.models import create_model
from ferbench.models.checkpoint import save_checkpoint
from ferbench.models.config import ModelConfig
from ferbench.models.export import GRAPH_ENGINES
from ferbench.predict.pipeline import load_image

runner = CliRunner()


@pytest.fixture
def ckpt(tmp_path):
    return save_checkpoint(create_model("tiny_cnn"), ModelConfig(arch="tiny_cnn"), tmp_path / "m.safetensors")


def _json_lines(output):
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_face_crops_json_and_csv(tmp_path, ckpt):
    images, _ = synthetic_faces(3)
    folder = tmp_path / "faces"
    folder.mkdir()
    for i, img in enumerate(images):
        Image.fromarray(img).save(folder / f"{i}.png")
    result = runner.invoke(app, ["predict", str(folder), "--model", "tiny_cnn", "--weights", str(ckpt), "--json"])
    assert result.exit_code == 0, result.output
    records = _json_lines(result.stdout)
    assert len(records) == 3
    face = records[0]["faces"][0]
    assert face["box"] == [0, 0, 48, 48] and face["whole_image"] is True  # 48-px images are face crops
    assert list(face["probabilities"]) == list(EMOTIONS) and face["label"] in EMOTIONS
    assert sum(face["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    result = runner.invoke(app, ["predict", str(folder / "0.png"), "--model", "tiny_cnn", "--weights", str(ckpt), "--csv"])
    rows = [r for r in result.stdout.splitlines() if r]
    assert rows[0].startswith("path,frame,face,x,y,w,h,label,p_angry") and len(rows) == 2


@pytest.mark.parametrize("backend", GRAPH_ENGINES)
def test_predict_on_a_graph_backend_gives_the_torch_probabilities(tmp_path, ckpt, backend):
    pytest.importorskip(backend.removesuffix("-bf16"))
    images, _ = synthetic_faces(2)
    for i, img in enumerate(images):
        Image.fromarray(img).save(tmp_path / f"{i}.png")
    paths = [str(tmp_path / f"{i}.png") for i in range(2)]
    runs = {b: runner.invoke(app, ["predict", *paths, "--model", "tiny_cnn", "--weights", str(ckpt), "--json",
                                   "--backend", b]) for b in ("torch", backend)}
    assert all(r.exit_code == 0 for r in runs.values()), runs[backend].output
    want, got = (_json_lines(runs[b].stdout) for b in ("torch", backend))
    for a, b in zip(want, got):
        pa, pb = a["faces"][0]["probabilities"], b["faces"][0]["probabilities"]
        assert max(abs(pa[e] - pb[e]) for e in EMOTIONS) < (2e-2 if backend.endswith("-bf16") else 1e-4)
    wrong = runner.invoke(app, ["predict", paths[0], "--model", "tiny_cnn", "--weights", str(ckpt),
                                "--backend", "onnx"])
    assert wrong.exit_code == 2 and "did you mean onnxruntime" in wrong.output


def test_no_face_is_said_clearly(tmp_path, ckpt):
    noise = np.random.default_rng(0).integers(0, 255, (400, 600), dtype=np.uint8)
    path = tmp_path / "noise.jpg"
    Image.fromarray(noise).save(path)
    result = runner.invoke(app, ["predict", str(path), "--model", "tiny_cnn", "--weights", str(ckpt), "--json"])
    assert result.exit_code == 0
    rec = _json_lines(result.stdout)[0]
    assert rec["faces"] == [] and rec["message"] == "no face found"
    assert "no face found" in result.stderr


def test_bad_file_is_reported_and_others_go_on(tmp_path, ckpt):
    (tmp_path / "bad.png").write_bytes(b"not a png")
    Image.fromarray(synthetic_faces(1)[0][0]).save(tmp_path / "good.png")
    result = runner.invoke(app, ["predict", str(tmp_path), "--model", "tiny_cnn", "--weights", str(ckpt), "--json"])
    recs = {r["path"].split("/")[-1]: r for r in _json_lines(result.stdout)}
    assert "cannot read image" in recs["bad.png"]["error"] and len(recs["good.png"]["faces"]) == 1


def test_rgba_and_16_bit_images_load(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 0] = 255  # red, fully transparent except one pixel
    rgba[0, 0, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    gray, rgb = load_image(tmp_path / "a.png")
    assert tuple(rgb[0, 0]) == (255, 0, 0) and tuple(rgb[5, 5]) == (255, 255, 255)  # composited on white
    deep = (np.arange(100, dtype=np.uint16).reshape(10, 10) * 600)
    Image.fromarray(deep).save(tmp_path / "b.png")
    gray, _ = load_image(tmp_path / "b.png")
    assert gray.dtype == np.uint8 and np.array_equal(gray, np.rint(deep / 257).astype(np.uint8))  # as stored


@needs_shared(SHARED_CSV)
def test_detects_real_faces_in_a_large_photo_and_annotates(tmp_path, ckpt):
    from ferbench.data import load_dataset

    faces = load_dataset(SHARED_CSV, split="PublicTest", limit=40).images
    detected = 0
    for i, face in enumerate(faces):
        canvas = np.full((1800, 2400), 128, np.uint8)  # a large photo: searched at reduced size
        canvas[600:1176, 900:1476] = cv2.resize(face, (576, 576), interpolation=cv2.INTER_CUBIC)
        Image.fromarray(canvas).convert("RGB").save(tmp_path / f"photo{i}.jpg")
    result = runner.invoke(app, ["predict", *[str(tmp_path / f"photo{i}.jpg") for i in range(40)], "--model",
                                 "tiny_cnn", "--weights", str(ckpt), "--json", "--annotate", str(tmp_path / "ann")])
    assert result.exit_code == 0, result.output
    for rec in _json_lines(result.stdout):
        near = [f for f in rec["faces"] if abs(f["box"][0] - 900) < 200 and abs(f["box"][1] - 600) < 200]
        detected += bool(near)
    assert detected >= 5  # Haar finds a share of these tight FER crops; boxes land where the face is
    assert len(list((tmp_path / "ann").glob("*.jpg"))) >= 5


def test_video_frames(tmp_path, ckpt):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 64))
    for k in range(25):
        writer.write(np.full((64, 64, 3), k * 10, np.uint8))
    writer.release()
    result = runner.invoke(app, ["predict", str(path), "--model", "tiny_cnn", "--weights", str(ckpt), "--json",
                                 "--every", "1.0"])
    assert result.exit_code == 0, result.output
    recs = _json_lines(result.stdout)
    assert [r["frame"] for r in recs] == [0, 10, 20] and recs[1]["time_s"] == pytest.approx(1.0)


def _face_folder(folder, n=2, name="{i}.png"):
    folder.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(synthetic_faces(n)[0]):
        Image.fromarray(img).save(folder / name.format(i=i))
    return folder


def test_annotate_never_overwrites_inputs(tmp_path, ckpt):
    photos = _face_folder(tmp_path / "photos")
    before = {p.name: p.read_bytes() for p in photos.iterdir()}
    for target in (photos, photos / ".." / "photos"):
        result = runner.invoke(app, ["predict", str(photos), "--model", "tiny_cnn", "--weights", str(ckpt),
                                     "--annotate", str(target)])
        assert result.exit_code == 2 and "would overwrite an input file" in result.stderr, result.output
    assert {p.name: p.read_bytes() for p in photos.iterdir()} == before


def test_annotate_mirrors_paths_so_same_names_do_not_collide(tmp_path, ckpt):
    a = _face_folder(tmp_path / "a", 1, "photo.png")
    b = _face_folder(tmp_path / "b", 1, "photo.png")
    Image.fromarray(255 - synthetic_faces(1)[0][0]).save(b / "photo.png")  # different content
    out = tmp_path / "out"
    result = runner.invoke(app, ["predict", str(a / "photo.png"), str(b / "photo.png"), "--model", "tiny_cnn",
                                 "--weights", str(ckpt), "--annotate", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "a" / "photo.png").exists() and (out / "b" / "photo.png").exists()
    assert (out / "a" / "photo.png").read_bytes() != (out / "b" / "photo.png").read_bytes()


def test_no_readable_input_or_empty_folder_exits_2(tmp_path, ckpt):
    (tmp_path / "bad.png").write_bytes(b"not a png")
    result = runner.invoke(app, ["predict", str(tmp_path / "bad.png"), "--model", "tiny_cnn", "--weights", str(ckpt)])
    assert result.exit_code == 2 and "no input could be read" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no pictures here")
    result = runner.invoke(app, ["predict", str(empty), "--model", "tiny_cnn", "--weights", str(ckpt)])
    assert result.exit_code == 2 and "no images or videos in this folder" in result.stderr


@pytest.mark.parametrize("side", [1, 10])
def test_images_below_the_minimum_face_size_get_no_emotion(tmp_path, ckpt, side):
    Image.fromarray(np.full((side, side), 120, np.uint8)).save(tmp_path / "tiny.png")
    result = runner.invoke(app, ["predict", str(tmp_path / "tiny.png"), "--model", "tiny_cnn", "--weights",
                                 str(ckpt), "--json"])
    rec = _json_lines(result.stdout)[0]
    assert "faces" not in rec and "below the minimum face size of 24 px" in rec["error"]
    assert result.exit_code == 2
