"""FERNet: ferbench's own FER-2013 model, a compact residual network for 48-px gray faces.

Design (why): 48-px faces carry little detail, so the network keeps full resolution only in a narrow
stem and reaches 24×24 after its first stage, spending its compute at 24/12/6 px where expression cues
(mouth, brows, eyes) span a few pixels. Pre-activation-free basic blocks (as ResNet-18) with batch norm,
global average pooling and dropout. The width/depth are settings so that the recipe can trade accuracy
for speed; the packaged weights record theirs in their config. ``standardize`` makes each face zero-mean and
unit-variance before the stem, so that global exposure and contrast (x -> a*x + b) no longer change the output:
robustness to under-exposure by construction rather than by training on it.
"""

from __future__ import annotations

import torch
from torch import nn

from .default_model import FERNET, packaged_entry
from .registry import register_model


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


def standardize_faces(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Each face to zero mean and unit variance over its channels and pixels (a flat face becomes zeros). ``eps``
    is small against the variance of even a severity-5 low-contrast face (about 2e-3 on the [-1, 1] scale)."""
    var, mean = torch.var_mean(x, dim=(1, 2, 3), correction=0, keepdim=True)
    return (x - mean) * torch.rsqrt(var + eps)


class FERNet(nn.Module):
    def __init__(self, num_classes: int = 7, in_chans: int = 1, stem: int = 32,
                 widths: tuple[int, ...] = (64, 128, 256), depths: tuple[int, ...] = (2, 2, 2),
                 drop_rate: float = 0.3, standardize: bool = False):
        super().__init__()
        self.standardize = standardize
        self.stem = nn.Sequential(nn.Conv2d(in_chans, stem, 3, 1, 1, bias=False), nn.BatchNorm2d(stem), nn.ReLU())
        layers, cin = [], stem
        for w, d in zip(widths, depths):
            for j in range(d):
                layers.append(BasicBlock(cin, w, 2 if j == 0 else 1))
                cin = w
        self.stages = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(drop_rate), nn.Linear(cin, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.standardize:
            x = standardize_faces(x)
        return self.head(self.stages(self.stem(x)))


@register_model("fernet", family="cnn", **packaged_entry(FERNET.name, "fernet"),  # or a checkpoint as --weights
                description="ferbench's own compact ResNet for 48-px faces (packaged weights; the default model)")
def fernet(num_classes: int = 7, in_chans: int = 1, input_size: int = 48, pretrained: str | None = None,
           stem: int = 32, widths: tuple[int, ...] | list[int] = (64, 128, 256),
           depths: tuple[int, ...] | list[int] = (2, 2, 2), drop_rate: float = 0.3, standardize: bool = False,
           **kw) -> nn.Module:
    model = FERNet(num_classes, in_chans, stem, tuple(widths), tuple(depths), drop_rate, standardize)
    if pretrained is not None:
        from .checkpoint import load_weights, read_safetensors

        load_weights(model, read_safetensors(pretrained)[0], pretrained, "fernet")
    return model
