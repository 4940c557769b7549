"""``restoreformer``: RestoreFormer (spandrel; official ``RestoreFormer.pth`` from the GFPGAN releases).
The 48-px policy is in :mod:`ferbench.restore.face`.
"""

from __future__ import annotations

from .face import FaceRestorer
from .registry import register_restorer


@register_restorer("restoreformer", output="rgb", description="RestoreFormer face restoration (spandrel)")
class RestoreFormer(FaceRestorer):
    arch_id = "RestoreFormer"
    official_key = "restoreformer"

    def arch_class(self) -> type:
        from spandrel.architectures.RestoreFormer import RestoreFormer as Arch

        return Arch
