"""When and with which software a result was made (stamped into run.json, caches and VLM outputs)."""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from importlib import metadata

_PACKAGES = ("ferbench", "torch", "torchvision", "timm", "numpy", "scikit-learn", "lightning", "open-clip-torch",
             "transformers", "spandrel", "opencv-contrib-python-headless")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
