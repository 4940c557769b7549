"""``codeformer``: CodeFormer (spandrel-extra-arches; the architecture and weights are under the NTU S-Lab
non-commercial licence). ``fidelity`` is CodeFormer's ``w``: 0 = most restoration, 1 = closest to the input
(the official inference script defaults to 0.5). The 48-px policy is in :mod:`ferbench.restore.face`.
"""

from __future__ import annotations

from pydantic import Field

from .face import FaceParams, FaceRestorer, extra_arches
from .registry import register_restorer


@register_restorer("codeformer", output="rgb", description="CodeFormer face restoration (spandrel-extra-arches)")
class CodeFormer(FaceRestorer):
    class Params(FaceParams):
        fidelity: float = Field(0.5, ge=0.0, le=1.0)

    arch_id = "CodeFormer"
    official_key = "codeformer"

    def setup(self) -> None:
        extra_arches()
        super().setup()

    def arch_class(self) -> type:
        extra_arches()
        from spandrel_extra_arches.architectures.CodeFormer import CodeFormer as Arch

        return Arch

    def forward(self, x):
        return self.module(x, weight=self.params.fidelity, adain=True)[0]

    def libraries(self) -> dict[str, str]:
        from importlib import metadata

        return {**super().libraries(), "spandrel-extra-arches": metadata.version("spandrel-extra-arches")}
