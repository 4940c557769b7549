"""Shared fixtures: synthetic FER-2013 data built in code, the shared folder, an isolated cache."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_CSV = SHARED / "data" / "fer2013-train-public.csv.gz"
SHARED_FERPLUS = SHARED / "data" / "fer2013new.csv"
SHARED_MODELS = SHARED / "models"


def needs_shared(*paths: Path):
    missing = [p for p in paths if not p.exists()]
    return pytest.mark.skipif(bool(missing), reason=f"../shared absent: {', '.join(map(str, missing))}")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own cache, so no test sees another's cached datasets."""
    monkeypatch.setenv("FERBENCH_CACHE", str(tmp_path_factory.mktemp("cache")))


def synthetic_faces(n: int, size: int = 48, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images whose class is visible (a bright band at a class-specific row), so tiny models can learn it."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 7
    rng.shuffle(labels)
    images = rng.integers(0, 90, size=(n, size, size), dtype=np.uint8)
    band = max(1, size // 8)
    for i, label in enumerate(labels):
        row = (label * size) // 7
        images[i, row:row + band, :] = 230
    return images, labels


def write_fer_csv(path: Path, images: np.ndarray, labels, usages, header: str = "emotion,pixels,Usage",
                  compress: bool = False) -> Path:
    lines = [header]
    cols = [c.strip().lower() for c in header.split(",")]
    for img, label, usage in zip(images, labels, usages):
        fields = {"emotion": str(int(label)), "pixels": " ".join(map(str, img.ravel().tolist())), "usage": usage}
        lines.append(",".join(fields[c] for c in cols))
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.fixture
def fer_csv(tmp_path) -> Path:
    """A 70-row FER-2013 CSV: 42 Training, 14 PublicTest, 14 PrivateTest."""
    images, labels = synthetic_faces(70)
    usages = ["Training"] * 42 + ["PublicTest"] * 14 + ["PrivateTest"] * 14
    return write_fer_csv(tmp_path / "fer2013.csv", images, labels, usages)
