"""ONNX export and the graph backends (ONNX Runtime, OpenVINO): parity with torch, TTA inside the graph, int8,
safe writing."""

import importlib.util
import json

import numpy as np
import pytest
from conftest import synthetic_faces, write_fer_csv
from typer.testing import CliRunner

from ferbench.cli.main import app
from ferbench.models import create_model, load_predictor
from ferbench.models.checkpoint import save_checkpoint
from ferbench.models.config import ModelConfig, Preprocess
from ferbench.models.export import GRAPH_ENGINES

pytest.importorskip("onnxruntime")
runner = CliRunner()


@pytest.fixture
def ckpt(tmp_path):
    import torch

    torch.manual_seed(0)
    module = create_model("tiny_cnn")
    for m in module.modules():  # non-trivial batch-norm statistics, so a wrong export would show
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return save_checkpoint(module, ModelConfig(arch="tiny_cnn"), tmp_path / "tiny.safetensors")


@pytest.mark.parametrize("backend", GRAPH_ENGINES)
@pytest.mark.parametrize("tta", ["none", "tencrop"])
def test_graph_backends_match_torch(ckpt, tta, backend):
    from ferbench.models.export import parity
    from ferbench.models.onnx_predictor import OnnxPredictor

    pytest.importorskip(backend.removesuffix("-bf16"))
    faces, _ = synthetic_faces(64)
    torch_p = load_predictor("tiny_cnn", ckpt, tta=tta, device="cpu")
    graph_p = load_predictor("tiny_cnn", ckpt, tta=tta, device="cpu", backend=backend)
    assert isinstance(graph_p, OnnxPredictor)
    result = parity(torch_p, graph_p, faces)
    if backend.endswith("-bf16"):  # bfloat16 where the CPU has it: close to float32, not equal
        assert result["max_abs_softmax_diff"] < 0.05 and result["argmax_agreement"] >= 0.9
        assert graph_p.describe()["inference_precision"] in ("bf16", "f32")
    else:  # float32 on every engine (OpenVINO would pick bfloat16 on AMX CPUs unless told not to)
        assert result["max_abs_softmax_diff"] < 1e-5 and result["argmax_agreement"] == 1.0
    assert graph_p.describe()["backend"] == backend and graph_p.describe()["source"]["tta"] == tta
    assert backend.removesuffix("-bf16") in graph_p.describe()  # the engine's version is part of the identity


@pytest.mark.parametrize("emulated", [True, False])
def test_bf16_warns_where_the_cpu_emulates_it_and_never_switches(ckpt, monkeypatch, emulated):
    import warnings

    from ferbench.cost import bf16_notice, meter

    monkeypatch.setattr(meter, "bf16_emulated", lambda: emulated)
    assert bf16_notice("training", "32-true") is None and bf16_notice("training", "bf16-mixed", "cuda") is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pred = load_predictor("tiny_cnn", ckpt, device="cpu", backend="torch-bf16")
    said = [str(w.message) for w in caught if "emulated" in str(w.message)]
    assert pred.precision == "bfloat16"  # the user's choice stands either way
    assert said == (["inference on torch-bf16 in bfloat16 on a CPU without AVX-512 BF16 or AMX: bfloat16 is emulated "
                     "here and runs several times slower than float32 (a training step of VGG19, ResNet-50 or "
                     "EfficientNet-B0 took 7-12x as long on a 2-core AMD EPYC: benchmarks/train_speed.py --compare); "
                     "--backend torch runs float32"] if emulated else [])


def test_bf16_backend_agrees_with_float32_and_is_part_of_the_identity(ckpt):
    from ferbench.models.export import parity

    faces, _ = synthetic_faces(64)
    float_p = load_predictor("tiny_cnn", ckpt, device="cpu")
    bf16_p = load_predictor("tiny_cnn", ckpt, device="cpu", backend="torch-bf16")
    result = parity(float_p, bf16_p, faces)
    # bfloat16 keeps 8 bits of mantissa: close, not equal (an unchanged float32 path would give 0)
    assert 0 < result["max_abs_softmax_diff"] < 0.05 and result["argmax_agreement"] >= 0.9
    assert bf16_p.describe()["precision"] == "bfloat16"
    assert "precision" not in float_p.describe()  # float32 runs keep the identity they had before the option
    with pytest.raises(ValueError, match="precision 'float16'"):
        float_p.set_precision("float16")
    # an ONNX graph has no torch module: asking for bf16 is refused, not silently run on onnxruntime
    from ferbench.models.export import with_backend

    ort_p = load_predictor("tiny_cnn", ckpt, device="cpu", backend="onnxruntime")
    assert with_backend(ort_p, "onnxruntime") is ort_p
    with pytest.raises(ValueError, match="ONNX graph"):
        with_backend(ort_p, "torch-bf16")


def test_an_exported_graph_moves_between_graph_engines(ckpt):
    from ferbench.models.export import with_backend

    pytest.importorskip("openvino")
    faces, _ = synthetic_faces(32)
    ort_p = load_predictor("tiny_cnn", ckpt, device="cpu", backend="onnxruntime", threads=1)
    ov_p = with_backend(ort_p, "openvino")
    assert ov_p.describe()["backend"] == "openvino" and ov_p.threads == 1 and ov_p.name == ort_p.name
    assert ov_p.describe()["onnx_sha256"] == ort_p.describe()["onnx_sha256"]
    assert np.abs(ov_p.predict(faces).proba - ort_p.predict(faces).proba).max() < 1e-5
    assert with_backend(ov_p, "openvino") is ov_p
    bf16_p = with_backend(ov_p, "openvino-bf16")  # the same file, another precision: another identity
    assert bf16_p is not ov_p and bf16_p.describe()["backend"] == "openvino-bf16"
    # a thread count asked with the engine the file already runs on is honoured, not dropped
    assert with_backend(ort_p, "onnxruntime", threads=2).threads == 2
    path = ckpt.parent / "tiny.onnx"
    path.write_bytes(ort_p.model_bytes)
    assert load_predictor(None, path, backend="onnxruntime", threads=1).threads == 1
    assert load_predictor(None, path, backend="openvino", threads=1).threads == 1
    with pytest.raises(ValueError, match="runs on onnxruntime, openvino, openvino-bf16, not torch-bf16"):
        with_backend(ov_p, "torch-bf16")


def test_keras_same_padding_exports_at_odd_sizes(tmp_path):
    """'same' padding computed from the input size must be traced as constants (ONNX integer division
    truncates, so a traced ceil-division padded wrongly)."""
    from helpers import tiny_layers, tiny_weights, write_keras_hdf5

    from ferbench.models.export import parity

    layers = tiny_layers(13)
    path = write_keras_hdf5(tmp_path / "k.hdf5", layers, tiny_weights(layers))
    faces, _ = synthetic_faces(16, size=13)
    a = load_predictor("keras_graph", path, device="cpu")
    b = load_predictor("keras_graph", path, device="cpu", backend="onnxruntime")
    assert parity(a, b, faces)["max_abs_softmax_diff"] < 1e-5


def test_numpy_preprocessing_equals_torch():
    from ferbench.models.preprocess import to_array, to_tensor

    rgb = np.random.default_rng(0).integers(0, 256, (3, 48, 48, 3), dtype=np.uint8)
    for pre in (Preprocess(), Preprocess(in_chans=3, mean=[0.4, 0.5, 0.6], std=[0.2, 0.3, 0.4]),
                Preprocess(input_size=64, resize="cv2_bilinear"), Preprocess(input_size=40)):
        np.testing.assert_allclose(to_array(rgb, pre), to_tensor(rgb, pre).numpy(), atol=1e-5)


def test_ensemble_runs_member_by_member(ckpt, tmp_path):
    spec = {"ferbench_ensemble": 1, "members": [{"model": "tiny_cnn", "weights": str(ckpt)},
                                                {"model": "tiny_cnn", "weights": str(ckpt), "options": {"tta": "flip"}}]}
    (tmp_path / "ens.json").write_text(json.dumps(spec))
    faces, _ = synthetic_faces(20)
    a = load_predictor("ensemble", tmp_path / "ens.json", device="cpu")
    b = load_predictor("ensemble", tmp_path / "ens.json", device="cpu", backend="onnxruntime")
    assert all(m.describe()["backend"] == "onnxruntime" for m in b.members)
    assert np.abs(a.predict(faces).proba - b.predict(faces).proba).max() < 1e-5


def test_unknown_backends_and_non_cnn_models_are_refused():
    from ferbench.models.export import with_backend
    from ferbench.models.predictor import Prediction, Predictor

    class Constant(Predictor):
        def predict(self, images):
            return Prediction.from_proba(np.full((len(images), 7), 1 / 7))

    with pytest.raises(ValueError, match="backend 'tensorrt'"):
        load_predictor("tiny_cnn", None, backend="tensorrt")
    with pytest.raises(ValueError, match="did you mean openvino"):
        load_predictor("tiny_cnn", None, backend="openvno")
    with pytest.raises(ValueError, match="only CNN-family"):
        with_backend(Constant(), "onnxruntime")


def test_export_writes_checks_and_never_overwrites(ckpt, tmp_path):
    out = tmp_path / "m.onnx"
    args = ["export", "--model", "tiny_cnn", "--weights", str(ckpt), "-o", str(out), "--option", "device=cpu"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "m.onnx.json").read_text())
    assert report["parity_torch_vs_onnx"]["max_abs_softmax_diff"] < 1e-5
    assert "max |softmax diff|" in result.output
    faces, _ = synthetic_faces(10)
    loaded = load_predictor(None, out)  # a .onnx file loads without --model
    np.testing.assert_allclose(loaded.predict(faces).proba,
                               load_predictor("tiny_cnn", ckpt, device="cpu").predict(faces).proba, atol=1e-5)
    before = out.read_bytes()
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "exists" in again.output and out.read_bytes() == before
    ckpt_bytes = ckpt.read_bytes()
    onto_weights = runner.invoke(app, [*args[:5], "-o", str(ckpt), "--force"])
    assert onto_weights.exit_code == 2 and ckpt.read_bytes() == ckpt_bytes
    bad = runner.invoke(app, ["export", "--model", "tiny_cnn", "--weights", str(out), "-o", str(out), "--force"])
    assert bad.exit_code == 2 and "input" in bad.output and out.read_bytes() == before
    assert ckpt.read_bytes() == ckpt_bytes


def test_export_refuses_when_parity_fails(ckpt, tmp_path, monkeypatch):
    from ferbench.models import export as export_mod

    real = export_mod.to_onnx

    def broken(predictor, extra_meta=None):  # the graph of another (re-initialised) model
        other = load_predictor("tiny_cnn", ckpt, device="cpu")
        for p in other.module.parameters():
            p.data.normal_()
        return real(other, extra_meta)

    monkeypatch.setattr(export_mod, "to_onnx", broken)
    out = tmp_path / "m.onnx"
    result = runner.invoke(app, ["export", "--model", "tiny_cnn", "--weights", str(ckpt), "-o", str(out),
                                 "--option", "device=cpu"])
    assert result.exit_code == 2 and "differs" in result.output and not out.exists()


def _train_tiny(tmp_path):
    """A tiny CNN trained for a few steps on the synthetic faces, so that accuracy means something."""
    import torch

    images, labels = synthetic_faces(280, seed=1)
    torch.manual_seed(0)
    module = create_model("tiny_cnn")
    opt = torch.optim.Adam(module.parameters(), 1e-2)
    x = (torch.from_numpy(images).float()[:, None] / 255 - 0.5) / 0.5
    y = torch.from_numpy(labels).long()
    for _ in range(60):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(module(x), y).backward()
        opt.step()
    module.eval()
    usages = ["Training"] * 140 + ["PublicTest"] * 140
    csv = write_fer_csv(tmp_path / "fer.csv", images, labels, usages)
    return save_checkpoint(module, ModelConfig(arch="tiny_cnn"), tmp_path / "trained.safetensors"), csv


def test_int8_export_agrees_with_float_and_refuses_big_drops(tmp_path):
    ckpt, csv = _train_tiny(tmp_path)
    out = tmp_path / "q.onnx"
    base = ["export", "--model", "tiny_cnn", "--weights", str(ckpt), "--data", str(csv), "--int8",
            "--option", "device=cpu"]
    result = runner.invoke(app, [*base, "-o", str(out), "--max-drop", "5"])
    assert result.exit_code == 0, result.output
    q = json.loads((tmp_path / "q.onnx.json").read_text())["int8"]
    assert q["accuracy_float"] > 0.5 and q["label_agreement"] >= 0.9 and q["calibration_split"] == "Training"
    model = load_predictor("onnx", out)
    assert model.describe()["quantization"]["type"] == "int8_static"
    assert model.describe()["quantization"]["weight_bits"] == 7  # no int16 saturation on CPUs without VNNI
    _assert_first_conv_float(out.read_bytes(), model.describe()["quantization"]["float_nodes"])
    faces, _ = synthetic_faces(50, seed=3)
    float_pred = load_predictor("tiny_cnn", ckpt, device="cpu").predict(faces).pred
    assert (model.predict(faces).pred == float_pred).mean() >= 0.8
    if importlib.util.find_spec("openvino"):  # the same int8 file on OpenVINO: its own int8 kernels, same labels
        ov_model = load_predictor("onnx", out, backend="openvino", threads=1)
        assert ov_model.describe()["backend"] == "openvino"
        assert ov_model.describe()["onnx_sha256"] == model.describe()["onnx_sha256"]
        assert (ov_model.predict(faces).pred == model.predict(faces).pred).mean() >= 0.9
        assert np.abs(ov_model.predict(faces).proba - model.predict(faces).proba).max() < 0.1
    refused = runner.invoke(app, [*base, "-o", str(tmp_path / "r.onnx"), "--max-drop", "-100"])
    assert refused.exit_code == 2 and "loses" in refused.output and not (tmp_path / "r.onnx").exists()
    no_data = runner.invoke(app, ["export", "--model", "tiny_cnn", "--weights", str(ckpt), "--int8", "-o",
                                  str(tmp_path / "n.onnx")])
    assert no_data.exit_code == 2 and "--data" in no_data.output


def _assert_first_conv_float(model_bytes: bytes, float_nodes: list[str]) -> None:
    """The first convolution reads float weights and the float image; every later one reads dequantized int8."""
    import onnx

    graph = onnx.load_from_string(model_bytes).graph
    made_by = {o: n.op_type for n in graph.node for o in n.output}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    assert len(convs) >= 2 and convs[0].name in float_nodes
    assert made_by.get(convs[0].input[1]) != "DequantizeLinear"
    assert all(made_by.get(c.input[1]) == "DequantizeLinear" for c in convs[1:])


def test_int8_keeps_infinite_max_pool_padding_in_float(tmp_path):
    """Keras 'same' max-pools pad with -inf: quantizing that tensor wrecked mini-Xception (65% -> 2%)."""
    from helpers import tiny_layers, tiny_weights, write_keras_hdf5

    from ferbench.models.export import to_onnx
    from ferbench.models.onnx_predictor import OnnxPredictor
    from ferbench.models.quantize import quantize_int8

    layers = tiny_layers(13)
    path = write_keras_hdf5(tmp_path / "k.hdf5", layers, tiny_weights(layers))
    torch_p = load_predictor("keras_graph", path, device="cpu")
    faces, _ = synthetic_faces(200, size=13)
    int8 = OnnxPredictor(quantize_int8(to_onnx(torch_p)[0], faces[:100]))
    got, want = int8.predict(faces[100:]).proba, torch_p.predict(faces[100:]).proba
    assert np.abs(got - want).mean() < 0.05 and (got.argmax(1) == want.argmax(1)).mean() >= 0.8


def test_cli_shows_ferbench_warnings_as_messages_and_others_with_their_source():
    from pathlib import Path

    import ferbench
    from ferbench.cli.main import _format_warning

    ours = str(Path(ferbench.__file__).parent / "models" / "export.py")
    assert _format_warning("bfloat16 is emulated", UserWarning, ours, 95) == "warning: bfloat16 is emulated\n"
    theirs = _format_warning("old API", DeprecationWarning, "/elsewhere/lib.py", 7)
    assert "/elsewhere/lib.py:7" in theirs and "DeprecationWarning" in theirs
