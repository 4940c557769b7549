"""Training end to end on synthetic data with a tiny CNN: train -> checkpoint -> resume -> eval -> metrics."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from safetensors.torch import load_file
from typer.testing import CliRunner

from conftest import synthetic_faces, write_fer_csv
from ferbench.cli.main import app
from ferbench.emotions import INDEX
from ferbench.models import create_model, list_models
from ferbench.train import TrainConfig
from ferbench.train.fit import train

runner = CliRunner()


@pytest.fixture
def small_csv(tmp_path):
    images, labels = synthetic_faces(448, size=48, seed=1)
    usages = ["Training"] * 336 + ["PublicTest"] * 112
    return write_fer_csv(tmp_path / "train.csv", images, labels, usages)


def _cfg(csv, **kw):
    base = dict(model="tiny_cnn", data=str(csv), epochs=3, batch_size=32, lr=1e-2, warmup_epochs=0,
                early_stopping=None, threads=1, augment={"erasing": 0.0})
    base.update(kw)
    return TrainConfig.model_validate(base)


def test_paper_models_are_registered_and_take_1_or_3_channels():
    import torch

    assert {"vgg19", "resnet50", "efficientnet_b0"} <= set(list_models(family="cnn"))
    for name in ("vgg19", "resnet50", "efficientnet_b0"):
        for chans, size in ((1, 48), (3, 96)):
            model = create_model(name, in_chans=chans, input_size=size).eval()
            assert model(torch.zeros(2, chans, size, size)).shape == (2, 7)


def test_train_learns_and_eval_matches_validation(small_csv, tmp_path, capsys):
    out = tmp_path / "run"
    run = train(_cfg(small_csv, epochs=5, augment={"mixup": 0.2, "erasing": 0.0}, ema_decay=0.9), out)
    assert run["status"] == "finished" and run["epochs_run"] == 5
    assert "epoch 5/5: val_loss" in capsys.readouterr().err  # stderr is not a terminal: one line per epoch
    best = run["best"]
    assert best["val_accuracy"] > 0.5  # the synthetic classes are easy; chance is 1/7
    cost = run["cost"]
    assert cost["training"]["wall_s"] > 0 and cost["model"]["params"] > 0 and cost["model"]["flops_per_image"] > 0
    # Evaluating the exported checkpoint on the validation split gives the selected epoch's accuracy.
    result = runner.invoke(app, ["eval", "--checkpoint", str(out / "model.safetensors"), "--data", str(small_csv),
                                 "--split", "PublicTest", "--out", str(tmp_path / "eval"), "-q", "--n-boot", "200"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["n"] == 112 and metrics["n_scored"] == 112
    assert metrics["accuracy"] == pytest.approx(best["val_accuracy"], abs=1e-6)
    low, high = metrics["accuracy_ci"]
    assert low <= metrics["accuracy"] <= high
    run_json = json.loads((tmp_path / "eval" / "run.json").read_text())
    assert {"preprocessing", "inference", "evaluation", "model"} <= set(run_json["cost"])


def test_bf16_training_where_the_cpu_emulates_it_warns_and_keeps_the_precision(small_csv, tmp_path, monkeypatch):
    from ferbench.cost import meter

    monkeypatch.setattr(meter, "bf16_emulated", lambda: True)
    with pytest.warns(UserWarning, match=r"training in bf16-mixed on a CPU without AVX-512 BF16 .* precision=32-true"):
        run = train(_cfg(small_csv, epochs=1, precision="bf16-mixed"), tmp_path / "run", progress=False)
    assert run["cost"]["training"]["precision"] == "bf16-mixed"  # warned, never switched


def test_resume_refuses_other_config_and_fresh_run_refuses_existing(small_csv, tmp_path):
    out = tmp_path / "run"
    train(_cfg(small_csv, epochs=1), out, progress=False)
    with pytest.raises(ValueError, match="already holds a training run"):
        train(_cfg(small_csv, epochs=1), out, progress=False)
    with pytest.raises(ValueError, match="different configuration"):
        train(_cfg(small_csv, epochs=1, lr=0.1), out, resume=True, progress=False)


def test_soft_ferplus_labels_and_balancing_options_train(tmp_path, monkeypatch):
    import torch.nn.functional as F

    from ferbench.emotions import FERPLUS
    from ferbench.train import data as train_data

    # 160 Training faces whose FER+ votes make 3 in 4 "happy" (happiness 7, surprise 3) and the rest "sad"
    # (sadness 6, neutral 4); the FER-2013 labels in the CSV (all 0) must not be used.
    n_train, n_val = 160, 64
    images, _ = synthetic_faces(n_train + n_val, size=48, seed=2)
    csv = write_fer_csv(tmp_path / "fer.csv", images, [0] * len(images),
                        ["Training"] * n_train + ["PublicTest"] * n_val)
    happy_votes = {"happiness": 7, "surprise": 3}
    sad_votes = {"sadness": 6, "neutral": 4}
    rows = ["Usage,Image name," + ",".join(FERPLUS)]
    for i in range(len(images)):
        votes = happy_votes if i % 4 else sad_votes
        rows.append(f"Training,f{i}.png," + ",".join(str(votes.get(c, 0)) for c in FERPLUS))
    ferplus = tmp_path / "fer2013new.csv"
    ferplus.write_text("\n".join(rows) + "\n")
    soft_happy, soft_sad = np.zeros(7), np.zeros(7)
    soft_happy[[INDEX["happy"], INDEX["surprise"]]] = [0.7, 0.3]
    soft_sad[[INDEX["sad"], INDEX["neutral"]]] = [0.6, 0.4]

    seen, loss_weights = [], []  # training targets as drawn, and the class weights the loss got
    getitem = train_data.FaceDataset.__getitem__

    def spy_getitem(self, item):
        img, target = getitem(self, item)
        if self.transform is not None:  # the training set (validation has no augmentation)
            seen.append(target.numpy())
        return img, target

    cross_entropy = F.cross_entropy

    def spy_loss(*args, weight=None, **kw):
        if weight is not None:  # the training loss (validation's has no class weights)
            loss_weights.append(weight.cpu().numpy())
        return cross_entropy(*args, weight=weight, **kw)

    monkeypatch.setattr(train_data.FaceDataset, "__getitem__", spy_getitem)
    monkeypatch.setattr(F, "cross_entropy", spy_loss)
    happy_share = {}
    for balance in ("none", "sampler", "weighted_loss"):
        seen.clear()
        loss_weights.clear()
        extra = dict(optimizer="sgd", scheduler="onecycle", augment={"cutmix": 1.0}) if balance == "weighted_loss" else {}
        run = train(_cfg(csv, epochs=1, balance=balance, ferplus=str(ferplus), label_mode="soft", **extra),
                    tmp_path / balance, progress=False)
        assert run["epochs_run"] == 1 and run["dataset"]["train"]["n"] == n_train
        targets = np.stack(seen)
        assert targets.shape == (n_train, 7)  # one epoch of soft 7-vectors, not class indices
        is_happy = np.isclose(targets, soft_happy).all(axis=1)
        assert (is_happy | np.isclose(targets, soft_sad).all(axis=1)).all()  # exactly the FER+ vote shares
        happy_share[balance] = is_happy.mean()
        if balance == "weighted_loss":  # inverse frequency, mean 1 over the classes present: 3 times as much for sad
            expected = np.zeros(7)
            expected[[INDEX["happy"], INDEX["sad"]]] = [0.5, 1.5]
        else:
            expected = np.ones(7)
        assert loss_weights and all(np.allclose(w, expected) for w in loss_weights), balance
    assert happy_share["none"] == 0.75 and happy_share["weighted_loss"] == 0.75  # every face once
    assert abs(happy_share["sampler"] - 0.5) < 0.15  # the sampler draws both classes about equally


TRAIN_SCRIPT = """
import sys, time
import lightning as L
from ferbench.train import TrainConfig
from ferbench.train.fit import train

class Slow(L.Callback):  # slows training down so that the test can kill it in the middle of an epoch
    def on_train_batch_end(self, *args):
        time.sleep(float(sys.argv[3]))

_init = L.Trainer.__init__
def init(self, *args, **kw):
    kw["callbacks"] = list(kw.get("callbacks") or []) + [Slow()]
    _init(self, *args, **kw)
L.Trainer.__init__ = init
train(TrainConfig.model_validate_json(sys.argv[1]), sys.argv[2], resume=len(sys.argv) > 4, progress=False)
"""


def test_killed_training_resumes_to_identical_weights(small_csv, tmp_path):
    cfg = _cfg(small_csv, epochs=3, augment={"mixup": 0.2, "erasing": 0.25})
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    straight = tmp_path / "straight"
    subprocess.run([sys.executable, "-c", TRAIN_SCRIPT, cfg.model_dump_json(), str(straight), "0"], check=True,
                   env=env, timeout=300, capture_output=True)
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", TRAIN_SCRIPT, cfg.model_dump_json(), str(killed), "0.05"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    history = killed / "history.jsonl"
    deadline = time.time() + 240
    while time.time() < deadline and not (history.exists() and len(history.read_text().splitlines()) >= 1
                                          and (killed / "checkpoints" / "last.ckpt").exists()):
        time.sleep(0.05)
    time.sleep(0.3)  # into the second epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "model.safetensors").exists(), "the run finished before it could be killed"
    subprocess.run([sys.executable, "-c", TRAIN_SCRIPT, cfg.model_dump_json(), str(killed), "0", "resume"],
                   check=True, env=env, timeout=300, capture_output=True)
    a, b = load_file(str(straight / "model.safetensors")), load_file(str(killed / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key].numpy(), b[key].numpy()), key
    run = json.loads((killed / "train.json").read_text())
    assert run["cost"]["training"]["interrupted_and_resumed"] is True


def _planted_checkpoint(path, marker):
    import torch

    class Payload:
        def __reduce__(self):
            return (eval, (f"open({str(marker)!r}, 'w').write('ran')",))

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": Payload()}, path)  # what a checkpoint looks like, with a payload inside
    return path


def test_planted_resume_checkpoint_runs_no_code(small_csv, tmp_path):
    out, marker = tmp_path / "run", tmp_path / "MARKER"
    _planted_checkpoint(out / "checkpoints" / "last.ckpt", marker)
    with pytest.raises(ValueError, match=r"last\.ckpt: refused: not a plain training checkpoint"):
        train(_cfg(small_csv, epochs=1), out, resume=True, progress=False)
    assert not marker.exists()
    result = runner.invoke(app, ["train", "--model", "tiny_cnn", "--data", str(small_csv), "--out", str(out),
                                 "--resume", "--epochs", "1"])
    assert result.exit_code == 2 and "refused: not a plain training checkpoint" in result.output
    assert not marker.exists()


def test_copied_run_folder_loads_its_own_best_checkpoint(small_csv, tmp_path):
    import shutil

    orig, copy, marker = tmp_path / "orig", tmp_path / "copy", tmp_path / "MARKER"
    cfg = _cfg(small_csv, epochs=2)
    train(cfg, orig, progress=False)
    shutil.copytree(orig, copy)
    (copy / "model.safetensors").unlink()
    _planted_checkpoint(orig / "checkpoints" / "best.ckpt", marker)  # the original changes after the copy
    run = train(cfg, copy, resume=True, progress=False)  # Lightning restores orig's absolute best_model_path
    assert not marker.exists() and run["status"] == "finished"
    a, b = load_file(str(orig / "model.safetensors")), load_file(str(copy / "model.safetensors"))
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)


def test_checkpoint_paths_stay_inside_the_run_folder(tmp_path):
    from ferbench.train.checkpoints import inside

    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    (folder / "best.ckpt").write_bytes(b"x")
    assert inside(folder, "/elsewhere/old-run/checkpoints/best.ckpt") == (folder / "best.ckpt").resolve()
    (tmp_path / "secret.ckpt").write_bytes(b"x")
    (folder / "link.ckpt").symlink_to(tmp_path / "secret.ckpt")
    with pytest.raises(ValueError, match="leads outside"):
        inside(folder, folder / "link.ckpt")
    with pytest.raises(FileNotFoundError, match="no such checkpoint in this run folder"):
        inside(folder, "/elsewhere/other.ckpt")


def test_last_checkpoint_is_the_last_epoch_when_the_best_is_earlier(small_csv, tmp_path):
    """--resume continues from last.ckpt: it must hold the last epoch even when that epoch did not improve (at
    lr 0 no epoch after the first is better, so best.ckpt stays at the first)."""
    import torch

    run = train(_cfg(small_csv, epochs=3, lr=0.0), tmp_path / "run", progress=False)
    ckpts = tmp_path / "run" / "checkpoints"
    best, last = (torch.load(ckpts / f, weights_only=True, map_location="cpu") for f in ("best.ckpt", "last.ckpt"))
    assert run["best"]["epoch"] == 0 and best["epoch"] == 0
    assert last["epoch"] == 2 and last["global_step"] == 3 * best["global_step"]

    kept = train(_cfg(small_csv, epochs=3, lr=0.0, keep="last"), tmp_path / "last", progress=False)
    state = torch.load(tmp_path / "last" / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    weights = load_file(str(tmp_path / "last" / "model.safetensors"))
    assert kept["best"]["epoch"] == 2 and weights.keys() == {k[len("model."):] for k in state if k.startswith("model.")}
    assert all(np.array_equal(weights[k].numpy(), state["model." + k].numpy()) for k in weights)
    assert "keep" not in _cfg(small_csv).result_affecting()  # runs from before the setting keep their hash
