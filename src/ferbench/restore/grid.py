"""A sample-grid PNG: one row per sample, one column per version (original | degraded | each restorer)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from ..utils.io import atomic_path


def sample_grid(columns: dict[str, np.ndarray], path: str | Path, rows: int | None = None,
                cell_inches: float = 1.3, title: str | None = None) -> Path:
    """Write the grid to ``path`` (PNG, atomically). ``columns`` maps a column title to N images (any size,
    gray or RGB); the first ``rows`` samples are shown, each image scaled to its cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not columns:
        raise ValueError("no columns to draw")
    n = min(len(v) for v in columns.values())
    rows = min(rows or n, n)
    if rows == 0:
        raise ValueError("no samples to draw")
    fig, axes = plt.subplots(rows, len(columns), figsize=(cell_inches * len(columns), cell_inches * rows + 0.4),
                             squeeze=False)
    for c, (name, images) in enumerate(columns.items()):
        for r in range(rows):
            ax = axes[r][c]
            im = images[r]
            ax.imshow(im, cmap="gray" if im.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title(textwrap.fill(name, 18), fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path
