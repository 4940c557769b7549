"""Keras HDF5 import: a tiny file written here with known weights, the real face_classification files when
../shared is present, the packaged weights, and the CLI."""

from __future__ import annotations

import json
import re

import h5py
import numpy as np
import pytest
from conftest import SHARED_CSV, SHARED_MODELS, needs_shared, synthetic_faces, write_fer_csv
from helpers import _layer, tiny_layers, tiny_weights, write_keras_hdf5
from typer.testing import CliRunner

from ferbench.cli.main import app
from ferbench.emotions import EMOTIONS
from ferbench.models import create_model, load_predictor
from ferbench.models.keras import graph as keras_graph
from ferbench.models.keras.convert import import_keras
from ferbench.models.keras.hdf5 import KerasImportError, read_keras_hdf5
from ferbench.models.keras.reference import _tf_same_pad, parity, predict_proba
from ferbench.models.keras.sources import KNOWN, PRETRAINED_DIR, packaged_graph
from ferbench.models.torch_predictor import TorchPredictor

runner = CliRunner()
TOL = 1e-5


# ---- a tiny Keras 2.0.5-style file -------------------------------------------------------------------------













@pytest.fixture(params=[12, 13], ids=["even", "odd"])
def tiny_hdf5(request, tmp_path):
    layers = tiny_layers(request.param)
    return write_keras_hdf5(tmp_path / f"tiny{request.param}.hdf5", layers, tiny_weights(layers))


# ---- the tiny file --------------------------------------------------------------------------------------------

def test_tiny_conversion_matches_numpy_reference(tiny_hdf5):
    module, config, kf = import_keras(tiny_hdf5)
    faces, _ = synthetic_faces(40)
    result = parity(kf, TorchPredictor(module, config, device="cpu"), faces)
    assert result["max_abs_softmax_diff"] <= TOL and result["argmax_agreement"] == 1.0
    size = kf.model_config["config"]["layers"][0]["config"]["batch_input_shape"][1]
    assert config.arch == "keras_graph" and config.labels == list(EMOTIONS)
    pre = config.preprocess
    assert (pre.input_size, pre.in_chans, pre.mean, pre.std, pre.resize) == (size, 1, [0.5], [0.5], "cv2_bilinear")
    assert config.provenance["keras_version"] == "2.0.5" and len(config.provenance["source_sha256"]) == 64
    assert module.layers["bn_a"].eps == 0.001


def test_reference_softmax_is_not_trivial(tiny_hdf5):
    """The comparison above means something only if outputs vary between faces."""
    proba = predict_proba(read_keras_hdf5(tiny_hdf5), synthetic_faces(40)[0])
    assert np.allclose(proba.sum(1), 1.0) and proba.std(0).max() > 1e-3


def test_symmetric_padding_would_fail_parity(tiny_hdf5, monkeypatch):
    """TensorFlow puts the odd padding cell after; padding before instead must break parity."""
    monkeypatch.setattr(keras_graph, "same_padding", lambda n, k, s: tuple(reversed(_tf_same_pad(n, k, s))))
    module, config, kf = import_keras(tiny_hdf5)
    result = parity(kf, TorchPredictor(module, config, device="cpu"), synthetic_faces(40)[0])
    assert result["max_abs_softmax_diff"] > 1e-3


@pytest.mark.parametrize("size,k,s,expected", [(10, 3, 2, (0, 1)), (11, 3, 2, (1, 1)), (64, 1, 2, (0, 0)),
                                               (9, 2, 2, (0, 1)), (7, 3, 1, (1, 1)), (5, 4, 1, (1, 2))])
def test_same_padding_follows_tensorflow(size, k, s, expected):
    assert keras_graph.same_padding(size, k, s) == expected == _tf_same_pad(size, k, s)


def test_checkpoint_round_trip_and_create_model(tiny_hdf5, tmp_path):
    from ferbench.models.checkpoint import save_checkpoint

    module, config, _ = import_keras(tiny_hdf5)
    path = save_checkpoint(module, config, tmp_path / "tiny.safetensors")
    faces = synthetic_faces(16)[0]
    direct = TorchPredictor(module, config, device="cpu").predict(faces).proba
    loaded = load_predictor("keras_graph", weights=path, device="cpu")
    np.testing.assert_array_equal(loaded.predict(faces).proba, direct)
    from_hdf5 = load_predictor("keras_graph", weights=tiny_hdf5, device="cpu")
    np.testing.assert_array_equal(from_hdf5.predict(faces).proba, direct)
    assert create_model("keras_graph", **config.arch_kwargs).num_classes == 7
    with pytest.raises(ValueError, match="needs graph="):
        create_model("keras_graph")
    with pytest.raises(KerasImportError, match="not mini_xception_64"):
        load_predictor("mini_xception_64", weights=tiny_hdf5)


def _mutated(tmp_path, change):
    layers = tiny_layers(12)
    weights = tiny_weights(layers)
    change(layers, weights)
    return write_keras_hdf5(tmp_path / "bad.hdf5", layers, weights)


def test_unsupported_or_broken_files_are_clear_errors(tmp_path):
    def dense(layers, weights):
        layers[-2] = _layer("Dense", "gap", ["conv_head"], units=7)

    def dilated(layers, weights):
        layers[1]["config"]["dilation_rate"] = [2, 2]

    def no_kernel(layers, weights):
        del weights["sep_c"]["pointwise_kernel"]

    def wrong_shape(layers, weights):
        weights["conv_head"]["kernel"] = weights["conv_head"]["kernel"][:, :, :3]

    for change, message in [(dense, "layer 'gap': layer type Dense is not supported"),
                            (dilated, "layer 'conv_a': dilation_rate [2, 2]"),
                            (no_kernel, "layer 'sep_c': missing weight 'pointwise_kernel'"),
                            (wrong_shape, "layer 'conv_head': kernel has shape (3, 3, 3, 7)")]:
        path = _mutated(tmp_path, change)
        with pytest.raises(KerasImportError, match=re.escape(message)) as info:
            import_keras(path)
        assert str(path) in str(info.value)
    weights_only = tmp_path / "weights_only.h5"
    with h5py.File(weights_only, "w") as fh:
        fh.attrs["layer_names"] = []
    with pytest.raises(KerasImportError, match="weights only"):
        import_keras(weights_only)
    not_hdf5 = tmp_path / "x.hdf5"
    not_hdf5.write_text("hello")
    with pytest.raises(KerasImportError, match="not an HDF5 file"):
        import_keras(not_hdf5)


# ---- CLI ---------------------------------------------------------------------------------------------------------

def test_cli_import_keras(tiny_hdf5, tmp_path):
    out = tmp_path / "conv" / "tiny.safetensors"
    result = runner.invoke(app, ["models", "import-keras", str(tiny_hdf5), "--out", str(out), "--check", "8"])
    assert result.exit_code == 0, result.output
    config = json.loads(out.with_suffix(".json").read_text())
    assert config["provenance"]["parity"]["max_abs_softmax_diff"] <= TOL
    assert config["arch_kwargs"]["graph"]["output"] == "predictions"
    # An impossible tolerance: the command refuses to write a model it could not verify.
    refused = tmp_path / "refused.safetensors"
    result = runner.invoke(app, ["models", "import-keras", str(tiny_hdf5), "--out", str(refused), "--tolerance", "0"])
    assert result.exit_code == 1 and not refused.exists()


def test_cli_eval_packaged_model_without_weights(tmp_path):
    images, labels = synthetic_faces(21)
    csv = write_fer_csv(tmp_path / "fer.csv", images, labels, ["PublicTest"] * 21)
    for name in ("mini_xception_64", "big_xception"):
        run = tmp_path / f"run-{name}"
        result = runner.invoke(app, ["eval", "--model", name, "--data", str(csv), "--out", str(run), "-q"])
        assert result.exit_code == 0, result.output
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["n"] == 21 and metrics["n_scored"] == 21
        described = json.loads((run / "run.json").read_text())["model"]
        assert described["weights"].endswith(f"pretrained/{name}.safetensors")
    result = runner.invoke(app, ["eval", "--model", "mini_xception_48", "--data", str(csv), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "fer2013_mini_XCEPTION.119-0.65.hdf5" in " ".join(result.output.split())


def test_packaged_weights_carry_license_and_provenance():
    assert "MIT License" in (PRETRAINED_DIR / "LICENSE-face_classification.txt").read_text()
    assert (PRETRAINED_DIR / "PROVENANCE.md").exists()
    for path in PRETRAINED_DIR.glob("*.safetensors"):
        config = json.loads(path.with_suffix(".json").read_text())
        known = next(k for k in KNOWN if k.name == path.stem)
        assert config["arch"] == known.name and config["provenance"]["source_sha256"] == known.sha256
        assert config["provenance"]["parity"]["max_abs_softmax_diff"] <= TOL
        assert config["arch_kwargs"]["graph"] == packaged_graph(known.name)


# ---- the real files --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def public_faces():
    from ferbench.data import load_dataset

    return load_dataset(SHARED_CSV, split="PublicTest", limit=256, use_cache=False).images


@pytest.mark.shared
@pytest.mark.parametrize("known", [pytest.param(k, id=k.name, marks=needs_shared(SHARED_CSV, SHARED_MODELS / k.file))
                                   for k in KNOWN])
def test_real_file_parity_on_256_public_faces(known, public_faces):
    faces, path = public_faces, SHARED_MODELS / known.file
    module, config, kf = import_keras(path, expect=known.name)
    assert config.arch == known.name and config.provenance["source_sha256"] == known.sha256
    assert config.arch_kwargs["graph"] == packaged_graph(known.name)
    assert create_model(known.name).state_dict().keys() == module.state_dict().keys()
    result = parity(kf, TorchPredictor(module, config, device="cpu"), faces)
    assert result["n"] == 256 and result["max_abs_softmax_diff"] <= TOL and result["argmax_agreement"] == 1.0
    packaged = PRETRAINED_DIR / f"{known.name}.safetensors"
    if packaged.exists():  # the shipped conversion is exactly today's conversion of the original file
        shipped = load_predictor(known.name, device="cpu").module.state_dict()
        for key, value in module.state_dict().items():
            assert np.array_equal(shipped[key].numpy(), value.numpy()), key
