"""The restorer registry. A restorer is added in one file:

    @register_restorer("clahe", output="input", description="CLAHE contrast equalisation")
    class Clahe(Restorer):
        class Params(RestorerParams):
            clip_limit: float = 2.0
        def _restore(self, images): ...

``output`` says which channels come out: ``input`` (as many as went in: gray stays gray) or ``rgb`` (always
three channels; the method may colour a gray face).
"""

from __future__ import annotations

from typing import Any

from ..registry import Entry, Registry

RESTORERS: Registry[Any] = Registry("restorer", package="ferbench.restore")


def register_restorer(name: str, output: str = "input", **meta: Any):
    if output not in ("input", "rgb"):
        raise ValueError(f"restorer {name!r}: output must be 'input' or 'rgb', not {output!r}")

    def decorator(cls):
        cls.name, cls.output = name, output
        return RESTORERS.register(name, output=output, **meta)(cls)
    return decorator


def list_restorers() -> list[str]:
    return RESTORERS.names()


def get_restorer_entry(name: str) -> Entry:
    return RESTORERS.get(name)


def create_restorer(name: str, **params: Any):
    """Build restorer ``name``; ``params`` are checked against its ``Params`` model (unknown keys are errors)."""
    return RESTORERS.get(name).fn(**params)
