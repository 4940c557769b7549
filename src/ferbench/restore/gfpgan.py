"""``gfpgan``: GFPGAN v1.3/v1.4 (the "clean" architecture; both versions share it, only the weights differ).

Official weights: ``GFPGANv1.3.pth`` / ``GFPGANv1.4.pth`` (``--weights PATH``, or ``--download`` with
``version``). The 48-px policy is in :mod:`ferbench.restore.face`.
"""

from __future__ import annotations

from typing import Literal

from .face import FaceParams, FaceRestorer
from .registry import register_restorer


@register_restorer("gfpgan", output="rgb", description="GFPGAN v1.3/v1.4 face restoration (spandrel; 512-px faces)")
class GFPGAN(FaceRestorer):
    class Params(FaceParams):
        version: Literal["1.3", "1.4"] = "1.4"  # which official file --download fetches

    arch_id = "GFPGAN"

    @property
    def official_key(self) -> str:
        return f"gfpgan-{self.params.version}"

    def arch_class(self) -> type:
        from spandrel.architectures.GFPGAN import GFPGAN as Arch

        return Arch

    def forward(self, x):
        return self.module(x, return_rgb=False, randomize_noise=False)[0]
