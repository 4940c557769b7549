"""Helpers shared by the test modules (test modules never import each other)."""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from conftest import synthetic_faces, write_fer_csv

from ferbench.models.predictor import Prediction, Predictor

# -- tiny VLMs (test_vlm_*)
# Tests never touch the network: transformers and huggingface_hub read these at import.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

_ROOT = Path(tempfile.mkdtemp(prefix="ferbench-tiny-vlm-"))
atexit.register(shutil.rmtree, _ROOT, True)


@functools.cache
def tiny_dir(kind: str, **kw) -> Path:
    """A tiny model directory of ``kind`` (open_clip, hf_clip, siglip, llava, llava_nochat, qwen2_vl), built once."""
    from ferbench.models.vlm import tiny

    path = _ROOT / kind
    if kind == "llava_nochat":
        return tiny.tiny_llava(path, chat_template=False)
    return tiny.build_tiny(kind, path)


def faces(n: int = 6, seed: int = 0, rgb: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 48, 48, 3) if rgb else (n, 48, 48), dtype=np.uint8)


# -- restorers (test_restore*)
NARROW_GFPGAN = dict(out_size=64, num_style_feat=32, channel_multiplier=1, narrow=0.0625, num_mlp=2,
                     different_w=True, input_is_latent=True, sft_half=True, fix_decoder=False)


# -- headless Chromium (test_report_browser, test_serve_live)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _driver(profile: Path, extra_flags: tuple[str, ...] = ()):
    if not CHROMIUM or not Path(CHROMEDRIVER).exists():
        pytest.skip("Debian chromium / chromium-driver not installed (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # Root in a container needs --no-sandbox; the rest keeps Chromium off the network and quiet.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000", f"--user-data-dir={profile}",
                 "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>", *extra_flags):
        options.add_argument(flag)
    try:
        return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except Exception as exc:  # a broken browser install is an environment problem, not a report bug
        pytest.skip(f"headless Chromium would not start: {type(exc).__name__}: {str(exc).splitlines()[0]}")


# -- EfficientNet-Lite (test_efficientnet_lite, test_recipes_effnet)
# Inverse naming written out from EfficientNet-PyTorch's module names (independent of the module's tables).
_EP_TOP = {"conv_stem": "_conv_stem", "bn1": "_bn0", "conv_head": "_conv_head", "bn2": "_bn1", "classifier": "_fc"}
_EP_DS = {"conv_dw": "_depthwise_conv", "bn1": "_bn1", "conv_pw": "_project_conv", "bn2": "_bn2"}
_EP_IR = {"conv_pw": "_expand_conv", "bn1": "_bn0", "conv_dw": "_depthwise_conv", "bn2": "_bn1",
          "conv_pwl": "_project_conv", "bn3": "_bn2"}


def _as_efficientnet_pytorch(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    blocks = [f"blocks.{s}.{b}" for s, stage in enumerate(model.blocks) for b in range(len(stage))]
    out = {}
    for key, value in model.state_dict().items():
        parts = key.split(".")
        if parts[0] == "blocks":
            index = blocks.index(".".join(parts[:3]))
            table = _EP_DS if index == 0 else _EP_IR
            out[f"_blocks.{index}.{table[parts[3]]}.{parts[4]}"] = value.clone()
        else:
            out[f"{_EP_TOP[parts[0]]}.{parts[1]}"] = value.clone()
    return out


# -- tiny Keras HDF5 files (test_keras_import, test_export)
def _layer(kind, name, inputs, **config):
    nodes = [[[i, 0, 0, {}] for i in inputs]] if inputs else []
    return {"class_name": kind, "name": name, "config": {"name": name, "trainable": True, **config},
            "inbound_nodes": nodes}


def _conv(name, inputs, filters, k, s, padding, use_bias=True, activation="linear", kind="Conv2D", **extra):
    return _layer(kind, name, inputs, filters=filters, kernel_size=[k, k], strides=[s, s], padding=padding,
                  data_format="channels_last", dilation_rate=[1, 1], use_bias=use_bias, activation=activation,
                  **extra)


def _bn(name, inputs, center=True, scale=True):
    return _layer("BatchNormalization", name, inputs, axis=-1, momentum=0.99, epsilon=0.001, center=center,
                  scale=scale)


def tiny_layers(size: int) -> list[dict]:
    """Every supported layer type; 'same' convolutions and max-pools at stride 2 on even and odd sizes; the
    shortcut branch listed after the Add that reads it (Keras files are not always in evaluation order)."""
    return [
        _layer("InputLayer", "input_1", [], batch_input_shape=[None, size, size, 1], dtype="float32"),
        _conv("conv_a", ["input_1"], 4, 3, 1, "valid", activation="relu"),
        _bn("bn_a", ["conv_a"]),
        _conv("sep_b", ["bn_a"], 6, 3, 1, "same", use_bias=False, kind="SeparableConv2D", depth_multiplier=2),
        _bn("bn_b", ["sep_b"], scale=False),
        _layer("Activation", "act_b", ["bn_b"], activation="relu"),
        _layer("MaxPooling2D", "pool_b", ["act_b"], pool_size=[3, 3], strides=[2, 2], padding="same",
               data_format="channels_last"),
        _layer("Add", "add_1", ["pool_b", "bn_short"]),
        _conv("conv_short", ["bn_a"], 6, 3, 2, "same", use_bias=False),
        _bn("bn_short", ["conv_short"], center=False),
        _conv("sep_c", ["add_1"], 8, 3, 2, "same", kind="SeparableConv2D", depth_multiplier=1),
        _conv("conv_head", ["sep_c"], 7, 3, 1, "same"),
        _layer("GlobalAveragePooling2D", "gap", ["conv_head"], data_format="channels_last"),
        _layer("Activation", "predictions", ["gap"], activation="softmax"),
    ]


def tiny_weights(layers: list[dict], seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    chans, weights = {"input_1": 1}, {}
    for layer in layers[1:]:
        kind, cfg, name = layer["class_name"], layer["config"], layer["name"]
        c = chans[layer["inbound_nodes"][0][0][0]]
        w = {}
        # Kernels scaled by fan-in keep logits in a realistic range (tens), where float32 softmax is accurate.
        if kind == "Conv2D":
            w["kernel"] = rng.normal(0, 1, (*cfg["kernel_size"], c, cfg["filters"])) / np.sqrt(9 * c)
        elif kind == "SeparableConv2D":
            m = cfg["depth_multiplier"]
            w["depthwise_kernel"] = rng.normal(0, 1 / 3, (*cfg["kernel_size"], c, m))
            w["pointwise_kernel"] = rng.normal(0, 1, (1, 1, c * m, cfg["filters"])) / np.sqrt(c * m)
        elif kind == "BatchNormalization":
            if cfg["scale"]:
                w["gamma"] = rng.uniform(0.5, 1.5, c)
            if cfg["center"]:
                w["beta"] = rng.normal(0, 0.3, c)
            w["moving_mean"] = rng.normal(0, 0.3, c)
            w["moving_variance"] = rng.uniform(0.2, 2.0, c)
            w["moving_variance"][0] = 1.2e-36  # as in the real files: only Keras' epsilon keeps this finite
        if cfg.get("use_bias") and kind in ("Conv2D", "SeparableConv2D"):
            w["bias"] = rng.normal(0, 0.2, cfg["filters"])
        weights[name] = {k: v.astype(np.float32) for k, v in w.items()}
        chans[name] = cfg.get("filters", c)
    return weights


def write_keras_hdf5(path, layers, weights, class_name="Model"):
    """Laid out as Keras 2.0.5 ``model.save`` does (attributes, model_weights/<layer>/<layer>_1/<name>:0)."""
    config = {"class_name": class_name, "config": {"name": "model_1", "layers": layers,
                                                   "input_layers": [["input_1", 0, 0]],
                                                   "output_layers": [[layers[-1]["name"], 0, 0]]}}
    with h5py.File(path, "w") as fh:
        fh.attrs["keras_version"] = b"2.0.5"
        fh.attrs["backend"] = b"tensorflow"
        fh.attrs["model_config"] = json.dumps(config).encode()
        root = fh.create_group("model_weights")
        root.attrs["layer_names"] = [layer["name"].encode() for layer in layers]
        for layer in layers:
            group = root.create_group(layer["name"])
            names = [f"{layer['name']}_1/{key}:0" for key in weights.get(layer["name"], {})]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for n, array in zip(names, weights.get(layer["name"], {}).values()):
                group.create_dataset(n, data=array)
    return path


# -- a study-like results folder (test_report, test_report_browser)
N_TEST = 84


class BandReader(Predictor):
    """Finds the bright band of a synthetic face; no clear band -> unscored (-1)."""

    batch_size = 32

    def __init__(self, name: str = "band_reader"):
        self.name = name

    def predict(self, images: np.ndarray) -> Prediction:
        rows = images.astype(np.float64).mean(axis=2)
        starts = np.arange(7) * images.shape[1] // 7  # the band of class k starts at row k*size//7
        pred = (np.searchsorted(starts, rows.argmax(axis=1), side="right") - 1).astype(np.int64)
        pred[rows.max(axis=1) < 215] = -1
        proba = np.full((len(images), 7), np.nan)
        return Prediction(pred=pred, proba=proba)

    def describe(self):
        return {"name": self.name, "family": "stub"}


def _noise(images: np.ndarray, severity: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(images + rng.normal(0, 45 * severity, images.shape), 0, 255).astype(np.uint8)


def build_results(root: Path) -> dict:
    """A study-like results folder: runs/<cell>/, audit.json, artifacts/**.png, one unfinished run."""
    import cv2
    import torch

    from ferbench.cost import PhaseMeter
    from ferbench.data import load_dataset
    from ferbench.data.audit import audit, clean_split
    from ferbench.models import create_model
    from ferbench.models.config import ModelConfig
    from ferbench.models.torch_predictor import TorchPredictor
    from ferbench.runs.evaluate import evaluate
    from ferbench.utils.io import write_json

    root.mkdir(parents=True, exist_ok=True)
    images, labels = synthetic_faces(70 + N_TEST, seed=3)
    images[70:76] = images[:6]  # six test faces leaked from training
    labels[70:76] = labels[:6]
    csv = write_fer_csv(root / "fer.csv", images, labels, ["Training"] * 70 + ["PublicTest"] * N_TEST)
    full = load_dataset(csv)
    report = audit(full)
    write_json(root / "audit-synthetic.json", report)  # the study runner's name for it
    write_json(root / "status.json", {c: {"cell": c, "status": "skipped", "reason": "weights w.safetensors not found"}
                                      for c in ("a__phi35", "b__phi35")})
    clean = clean_split(full, report)
    clean_ids = clean["splits"]["PublicTest"]["kept"]
    test = full.select(["PublicTest"])
    torch.manual_seed(0)
    tiny = TorchPredictor(create_model("tiny_cnn"), ModelConfig(arch="tiny_cnn"), batch_size=64)
    runs = root / "runs"

    def run(cell, predictor, ds, degradation=None, restorer=None, extra=None, **model):
        # the shape of a study cell's config (ferbench.study.runner.cell_config)
        config = {"study": {"name": "unit", "cell": cell}, "dataset": "synthetic", "split": ["PublicTest"],
                  "degradation": degradation, "restorer": restorer, **model}
        return evaluate(predictor, ds, runs / cell, config, n_boot=200, clean_ids=clean_ids,
                        extra_cost=extra, progress=False)

    metrics = {
        "tiny-clean": run("tiny-clean", tiny, test),
        "band-clean": run("band-clean", BandReader(), test),
        "resnet-clean": run("resnet-clean", BandReader(), test, model="resnet_gfpgan", registered_model="resnet50",
                            extra={"training": {"phase": "training", "wall_s": 3600.0, "items": 1000}}),
        # a zero-shot CLIP path with random weights: never set beside the paper's CLIP
        "clip-clean": run("clip-clean", BandReader(), test, model="tiny_clip_random", registered_model="clip"),
    }
    for severity in (1, 2):
        noisy = replace(test, images=_noise(test.images, severity))
        metrics[f"band-noise{severity}"] = run(f"band-noise{severity}", BandReader(), noisy,
                                               {"name": "noise", "severity": severity})
        with PhaseMeter("restoration") as meter:
            restored = np.stack([cv2.medianBlur(im, 5) for im in noisy.images])
        meter.set_items(len(restored))
        metrics[f"band-noise{severity}-median"] = run(
            f"band-noise{severity}-median", BandReader(), replace(test, images=restored),
            {"name": "noise", "severity": severity}, {"name": "median", "label": "median5", "params": {"ksize": 5}},
            extra={"restoration": meter.result})
    # another sample set: must not be paired with the others in the significance matrix
    evaluate(BandReader("evil <b>|name"), test.select(["PublicTest"], limit=40), runs / "subset",
             {"dataset": "synthetic"}, n_boot=100, progress=False)
    (runs / "crashed").mkdir()
    write_json(runs / "crashed" / "run.json", {"status": "running", "config": {}})
    grid = np.concatenate([test.images[:4].reshape(-1, 48), restored[:4].reshape(-1, 48)], axis=1)
    (root / "artifacts" / "median").mkdir(parents=True)
    cv2.imwrite(str(root / "artifacts" / "median" / "noise-2.png"), grid)
    return {"metrics": metrics, "test": test, "clean_ids": clean_ids, "audit": report}
