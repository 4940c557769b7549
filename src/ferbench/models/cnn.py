"""The paper's CNNs, adapted to 48-px grayscale faces.

Adaptation (documented in ``ferbench models list`` and the README): at input sizes of 64 px or less the
stem's stride-2 convolution runs at stride 1, keeping its kernel (so ImageNet weights still load). A
48-px face then reaches the first ResNet stage at 24×24 instead of 12×12 (the compute of a 96-px image,
not of a 224-px upscale), and EfficientNet-B0 ends on a 3×3 map instead of 2×2. VGG19 (with batch norm,
which it needs to train from scratch) keeps its stem but drops its last max-pool at ≤ 64 px, so five
poolings do not shrink 48 px to 1×1; its 4096-wide fully connected head is replaced by global average
pooling and a linear layer (140 M -> 20 M parameters). Input size (48, 96, 224...) and 1 or 3 input
channels are settings; ImageNet weights load from a local file (``pretrained=PATH``), never a hub.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .registry import register_model

SMALL_INPUT = 64


def _timm(name: str, num_classes: int, in_chans: int, pretrained: str | Path | None, **kw) -> nn.Module:
    import timm

    if pretrained is not None:
        path = Path(pretrained)
        if not path.exists():
            raise FileNotFoundError(f"pretrained weights {path} not found (hubs are not used: give a local file)")
        return timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": str(path)},
                                 num_classes=num_classes, in_chans=in_chans, **kw)
    return timm.create_model(name, pretrained=False, num_classes=num_classes, in_chans=in_chans, **kw)


@register_model("resnet50", family="cnn", description="ResNet-50 (timm); stride-1 stem at <=64 px")
def resnet50(num_classes: int = 7, in_chans: int = 1, input_size: int = 48, pretrained: str | None = None,
             drop_rate: float = 0.2, **kw) -> nn.Module:
    model = _timm("resnet50", num_classes, in_chans, pretrained, drop_rate=drop_rate, **kw)
    if input_size <= SMALL_INPUT:
        model.conv1.stride = (1, 1)
    return model


@register_model("efficientnet_b0", family="cnn", description="EfficientNet-B0 (timm); stride-1 stem at <=64 px")
def efficientnet_b0(num_classes: int = 7, in_chans: int = 1, input_size: int = 48, pretrained: str | None = None,
                    drop_rate: float = 0.2, **kw) -> nn.Module:
    model = _timm("efficientnet_b0", num_classes, in_chans, pretrained, drop_rate=drop_rate, **kw)
    if input_size <= SMALL_INPUT:
        model.conv_stem.stride = (1, 1)
    return model


class VGG(nn.Module):
    """torchvision VGG19-BN features, global average pooling and one linear layer."""

    def __init__(self, features: nn.Module, num_classes: int, drop_rate: float):
        super().__init__()
        self.features = features
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(drop_rate), nn.Linear(512, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(x)))


@register_model("vgg19", family="cnn", description="VGG19-BN (torchvision); last pool dropped at <=64 px, GAP head")
def vgg19(num_classes: int = 7, in_chans: int = 1, input_size: int = 48, pretrained: str | None = None,
          drop_rate: float = 0.3, **kw) -> nn.Module:
    from torchvision.models import vgg19_bn

    base = vgg19_bn(weights=None)
    if pretrained is not None:
        state = torch.load(pretrained, map_location="cpu", weights_only=True)
        base.load_state_dict(state, strict=False)
    layers = list(base.features.children())
    if in_chans != 3:
        first = layers[0]
        conv = nn.Conv2d(in_chans, first.out_channels, 3, padding=1)
        with torch.no_grad():  # keep pretrained filters usable on gray input: sum over RGB
            conv.weight.copy_(first.weight.sum(dim=1, keepdim=True).repeat(1, in_chans, 1, 1))
            conv.bias.copy_(first.bias)
        layers[0] = conv
    if input_size <= SMALL_INPUT:
        layers = layers[:-1]  # the last MaxPool2d
    return VGG(nn.Sequential(*layers), num_classes, drop_rate)


@register_model("tiny_cnn", family="cnn", description="A 3-layer CNN for tests and smoke runs (seconds on CPU)")
def tiny_cnn(num_classes: int = 7, in_chans: int = 1, input_size: int = 48, width: int = 8, **kw) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(in_chans, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(2 * width, 4 * width, 3, padding=1), nn.BatchNorm2d(4 * width), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * width, num_classes),
    )
