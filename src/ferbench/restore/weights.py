"""Official face-restoration weights: release URLs and SHA-256, fetched only when asked (``download=True``).

The digests were taken from several independent public manifests that agree (they could not be re-checked
here: the release hosts are unreachable from this machine). A fetched file is written atomically into
``$FERBENCH_CACHE/weights`` and kept only if its SHA-256 matches; a local file given as ``weights`` is hashed,
and its digest is what enters cache keys (and tells whether it is an official release).
"""

from __future__ import annotations

import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..utils.io import atomic_path, cache_dir, sha256_file


@dataclass(frozen=True)
class OfficialWeights:
    file: str
    url: str
    sha256: str
    license: str


OFFICIAL: dict[str, OfficialWeights] = {
    "gfpgan-1.3": OfficialWeights(
        "GFPGANv1.3.pth", "https://github.com/TencentARC/GFPGAN/releases/download/v1.3.0/GFPGANv1.3.pth",
        "c953a88f2727c85c3d9ae72e2bd4846bbaf59fe6972ad94130e23e7017524a70", "Apache-2.0 (StyleGAN2 parts: NVIDIA)"),
    "gfpgan-1.4": OfficialWeights(
        "GFPGANv1.4.pth", "https://github.com/TencentARC/GFPGAN/releases/download/v1.3.0/GFPGANv1.4.pth",
        "e2cd4703ab14f4d01fd1383a8a8b266f9a5833dacee8e6a79d3bf21a1b6be5ad", "Apache-2.0 (StyleGAN2 parts: NVIDIA)"),
    "codeformer": OfficialWeights(
        "codeformer.pth", "https://github.com/sczhou/CodeFormer/releases/download/v0.1.0/codeformer.pth",
        "1009e537e0c2a07d4cabce6355f53cb66767cd4b4297ec7a4a64ca4b8a5684b7", "NTU S-Lab License 1.0 (non-commercial)"),
    "restoreformer": OfficialWeights(
        "RestoreFormer.pth", "https://github.com/TencentARC/GFPGAN/releases/download/v1.3.4/RestoreFormer.pth",
        "07404d446d62ca3d5ed38b1de09a947a1e77d46dbccec961a74d713a8f24ace0", "Apache-2.0"),
}


def official_name(sha256: str) -> str | None:
    """Which official release a file is, by its digest (None: not one we know)."""
    return next((name for name, w in OFFICIAL.items() if w.sha256 == sha256), None)


def _fetch(url: str, dest: Path) -> None:
    """Copy ``url`` to ``dest`` (urllib: https://, and file:// for local mirrors and tests)."""
    with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as fh:
        shutil.copyfileobj(response, fh, length=1 << 20)


def fetch_weights(name: str, folder: Path | None = None) -> Path:
    """The official file ``name`` (see :data:`OFFICIAL`), from the cache or downloaded and verified."""
    if name not in OFFICIAL:
        raise KeyError(f"no official weights {name!r}; known: {', '.join(OFFICIAL)}")
    entry = OFFICIAL[name]
    path = (folder or cache_dir("weights")) / entry.file
    if path.exists() and sha256_file(path) == entry.sha256:
        return path
    try:
        with atomic_path(path) as tmp:
            _fetch(entry.url, tmp)
            got = sha256_file(tmp)
            if got != entry.sha256:
                raise ValueError(f"{entry.url}: SHA-256 {got} does not match the official {entry.sha256}; not kept")
    except OSError as exc:
        raise OSError(f"cannot download {entry.url} ({exc}); download it elsewhere and pass its path as "
                      f"--weights") from None
    return path


def resolve_weights(weights: str | None, download: bool, official: str) -> Path:
    """A local ``weights`` file, else (``download``) the official file ``official``; else a clear error."""
    if weights:
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such weights file")
        return path
    if download:
        return fetch_weights(official)
    entry = OFFICIAL[official]
    raise FileNotFoundError(f"no weights given: pass --weights PATH ({entry.file}, from {entry.url}) or "
                            f"--download to fetch and verify it")
