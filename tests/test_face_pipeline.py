"""MTCNN weights (tensors only), alignment geometry, steady labels on video, predict on a synthetic clip."""

import json
import math

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from ferbench.cli.main import app
from ferbench.models import create_model
from ferbench.models.checkpoint import save_checkpoint
from ferbench.models.config import ModelConfig
from ferbench.predict.align import FER_TEMPLATE, align_face, alignment_matrix, eye_angle
from ferbench.predict.track import FaceTracker

runner = CliRunner()


def _turned_landmarks(angle_deg: float, scale: float = 3.0, offset=(40.0, 25.0)) -> np.ndarray:
    """The template at 48 px, scaled, turned by ``angle_deg`` (clockwise on screen: y points down) and moved."""
    t = math.radians(angle_deg)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    return (FER_TEMPLATE * 48 * scale) @ rot.T + offset


@pytest.mark.parametrize("angle", [-30.0, 0.0, 12.5, 40.0])
def test_alignment_levels_the_eyes_and_fits_the_template(angle):
    marks = _turned_landmarks(angle)
    assert eye_angle(marks) == pytest.approx(angle, abs=1e-6)
    m = alignment_matrix(marks, 48)
    mapped = marks @ m[:, :2].T + m[:, 2]
    np.testing.assert_allclose(mapped, FER_TEMPLATE * 48, atol=1e-6)
    assert math.hypot(m[0, 0], m[0, 1]) == pytest.approx(1 / 3)


def test_aligned_crop_has_the_eyes_on_one_row():
    marks = _turned_landmarks(25.0, scale=4.0, offset=(120.0, 60.0))
    image = np.full((480, 480), 200, np.uint8)
    for x, y in marks[:2]:
        cv2.circle(image, (round(x), round(y)), 10, 0, -1)
    face = align_face(image, marks, 48)
    dark = np.argwhere(face < 100)
    left, right = dark[dark[:, 1] < 24], dark[dark[:, 1] >= 24]
    assert abs(left[:, 0].mean() - right[:, 0].mean()) < 0.5  # eyes level
    assert left[:, 0].mean() == pytest.approx(FER_TEMPLATE[0, 1] * 48, abs=1.0)


def test_mtcnn_weights_load_as_tensors_only(tmp_path):
    pytest.importorskip("facenet_pytorch")
    import torch

    from ferbench.predict.mtcnn import load_nets, weights_dir

    pnet, rnet, onet = load_nets()
    assert not pnet.training and onet.dense6_3.out_features == 10  # five landmarks (x, y)
    for name in ("pnet", "rnet", "onet"):
        (tmp_path / f"{name}.pt").write_bytes((weights_dir() / f"{name}.pt").read_bytes())
    torch.save({"conv1.weight": _NotATensor()}, tmp_path / "pnet.pt")  # a pickled object: must not be loaded
    with pytest.raises(ValueError, match="refusing to run code"):
        load_nets(tmp_path)


class _NotATensor:
    pass


def test_mtcnn_finds_and_aligns_a_face():
    pytest.importorskip("facenet_pytorch")
    skdata = pytest.importorskip("skimage.data")
    from ferbench.predict.detectors import DETECTORS

    rgb = skdata.astronaut()
    found = DETECTORS["mtcnn"](cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), rgb, 24)
    assert len(found) == 1
    (x, y, w, h), marks = found[0]
    assert 150 < x + w / 2 < 300 and 50 < y + h / 2 < 200 and marks.shape == (5, 2)


def _face(label_probs, box=(10, 10, 40, 40)):
    from ferbench.emotions import EMOTIONS

    p = dict(zip(EMOTIONS, label_probs))
    return {"box": list(box), "label": max(p, key=p.get), "probabilities": p}


def test_tracker_keeps_a_steady_label_and_separates_faces():
    happy = [0, 0, 0, 0.55, 0, 0, 0.45]
    flicker = [0, 0, 0, 0.40, 0, 0, 0.60]
    tracker = FaceTracker(alpha=0.3)
    labels = []
    for k in range(6):
        faces = [_face(flicker if k == 3 else happy, (10 + k, 10, 40, 40)), _face(flicker, (200, 10, 40, 40))]
        tracker.update(faces)
        labels.append((faces[0]["label"], faces[0]["frame_label"], faces[0]["track"], faces[1]["track"]))
    assert [lab[0] for lab in labels] == ["happy"] * 6  # one flickering frame does not change the label
    assert labels[3][1] == "neutral"  # the frame's own label is kept
    assert {lab[2] for lab in labels} == {0} and {lab[3] for lab in labels} == {1}


@pytest.fixture
def ckpt(tmp_path):
    return save_checkpoint(create_model("tiny_cnn"), ModelConfig(arch="tiny_cnn"), tmp_path / "m.safetensors")


def test_predict_on_a_synthetic_video_smooths_and_reports_frames_per_second(tmp_path, ckpt):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 64))
    rng = np.random.default_rng(0)
    for _ in range(8):
        writer.write(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    writer.release()
    args = ["predict", str(path), "--model", "tiny_cnn", "--weights", str(ckpt), "--json", "--every", "0",
            "--detect", "never", "--detector", "haar"]
    result = runner.invoke(app, [*args, "--smooth"])
    assert result.exit_code == 0, result.output
    recs = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [r["frame"] for r in recs] == list(range(8))
    faces = [r["faces"][0] for r in recs]
    assert {f["track"] for f in faces} == {0} and all("frame_label" in f for f in faces)
    assert "frames/s" in result.output
    plain = runner.invoke(app, args)
    assert plain.exit_code == 0 and '"track"' not in plain.stdout
    bad = runner.invoke(app, [*args[:-1], "dlib"])
    assert bad.exit_code == 2 and "--detector" in bad.output
