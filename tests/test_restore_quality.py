"""Quality and effect of restoration: PSNR/SSIM, label flips with a fixed classifier, the sample grid, and
the restore / degrade / restore-quality / restore-list commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from conftest import synthetic_faces, write_fer_csv
from ferbench.cli.main import app
from ferbench.restore.grid import sample_grid
from ferbench.restore.quality import image_quality, label_flips

runner = CliRunner()


def test_psnr_ssim_of_identical_noisy_and_rgb_images():
    images, _ = synthetic_faces(8)
    same = image_quality(images, images)
    assert same["psnr_db_mean"] == 100.0 and same["ssim_mean"] == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    mild = np.clip(images + rng.normal(0, 5, images.shape), 0, 255).astype(np.uint8)
    strong = np.clip(images + rng.normal(0, 30, images.shape), 0, 255).astype(np.uint8)
    q_mild, q_strong = image_quality(images, mild), image_quality(images, strong)
    assert 30 < q_mild["psnr_db_mean"] < 40 and q_strong["psnr_db_mean"] < q_mild["psnr_db_mean"] - 10
    assert q_strong["ssim_mean"] < q_mild["ssim_mean"] < 1
    # a restorer's 96-px RGB output is compared through its luma at the reference size
    big_rgb = np.repeat(np.repeat(np.repeat(images, 2, 1), 2, 2)[..., None], 3, -1)
    assert image_quality(images, big_rgb)["psnr_db_mean"] == 100.0


def test_label_flips_and_accuracies():
    before = np.array([0, 1, 2, 3, 4])
    after = np.array([0, 1, 5, 3, 6])
    labels = np.array([0, 2, 5, 3, -1])
    f = label_flips(before, after, labels)
    assert f["flip_rate"] == 0.4 and f["n"] == 5
    assert f["accuracy_before"] == 0.5 and f["accuracy_after"] == 0.75 and f["fixed"] == 1 and f["broken"] == 0


def test_sample_grid_has_one_row_per_sample_and_a_column_per_version(tmp_path):
    from PIL import Image

    images, _ = synthetic_faces(5)
    rgb = np.repeat(images[..., None], 3, -1)
    path = sample_grid({"original": images, "degraded": images, "restored": rgb}, tmp_path / "g.png", rows=4,
                       cell_inches=1.0)
    w, h = Image.open(path).size
    assert (w, h) == (300, 440)  # 3 columns × 4 rows of 1-inch cells at 100 dpi (+0.4 in for titles)


@pytest.fixture
def csv_and_model(tmp_path):
    from ferbench.models import create_model
    from ferbench.models.checkpoint import save_checkpoint
    from ferbench.models.config import ModelConfig

    images, labels = synthetic_faces(24)
    csv = write_fer_csv(tmp_path / "f.csv", images, labels, ["PublicTest"] * 24)
    torch.manual_seed(0)
    ckpt = save_checkpoint(create_model("tiny_cnn"), ModelConfig(arch="tiny_cnn"), tmp_path / "tiny.safetensors")
    return csv, ckpt


def test_restore_quality_command(csv_and_model, tmp_path):
    csv, ckpt = csv_and_model
    result = runner.invoke(app, ["restore-quality", str(csv), "-d", "downscale", "--severity", "4", "-r", "identity",
                                 "-r", "clahe:clip_limit=3", "--model", "tiny_cnn", "--checkpoint", str(ckpt),
                                 "--grid", str(tmp_path / "grid.png"), "--grid-rows", "3",
                                 "--json", str(tmp_path / "q.json"), "-q"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "q.json").read_text())
    v = report["variants"]
    assert list(v) == ["downscale@4", "identity", "clahe clip_limit=3"]
    assert v["downscale@4"]["vs_original"]["psnr_db_mean"] < 100
    # identity at the input size gives back its input: no prediction can change
    assert v["identity"]["label_flips"]["flip_rate"] == 0.0
    assert v["identity"]["vs_original"] == v["downscale@4"]["vs_original"]
    assert v["clahe clip_limit=3"]["vs_original"]["psnr_db_mean"] != v["identity"]["vs_original"]["psnr_db_mean"]
    assert (tmp_path / "grid.png").stat().st_size > 0 and report["model"]["name"] == "tiny_cnn"


def test_restore_and_degrade_commands(csv_and_model, tmp_path):
    csv, _ = csv_and_model
    first = runner.invoke(app, ["restore", str(csv), "-r", "resize", "-p", "method=lanczos", "--size", "64",
                                "-o", str(tmp_path / "job"), "--shard-size", "10", "--json", "-q"])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["stage"]["params"] == {"method": "lanczos"} and summary["this_run"]["shards_computed"] == 3
    again = runner.invoke(app, ["restore", str(csv), "-r", "resize", "-p", "method=lanczos", "--size", "64",
                                "-o", str(tmp_path / "job"), "--json", "-q"])
    assert json.loads(again.stdout)["this_run"]["shards_reused"] == 3
    bad = runner.invoke(app, ["restore", str(csv), "-r", "resize", "-p", "method=sinc", "-q"])
    assert bad.exit_code == 2 and "method" in bad.output
    missing = runner.invoke(app, ["restore", str(csv), "-r", "gfpgan", "-q"])
    assert missing.exit_code == 2 and "--download" in missing.output
    deg = runner.invoke(app, ["degrade", str(csv), "-d", "jpeg", "--severity", "5", "-o", str(tmp_path / "d"),
                              "--json", "-q"])
    assert deg.exit_code == 0, deg.output
    assert json.loads(deg.stdout)["stage"]["severity"] == 5


def test_restore_list_command():
    result = runner.invoke(app, ["restore-list", "--json"])
    assert result.exit_code == 0
    listing = json.loads(result.stdout)
    assert {"name": "gfpgan", "output": "rgb"}.items() <= next(r for r in listing["restorers"]
                                                               if r["name"] == "gfpgan").items()
    assert listing["degradations"]["jpeg"]["levels"]["5"] == 7
