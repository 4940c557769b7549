"""Restoration sample grids of a study (original | degraded | each restorer), one PNG per condition.

Each grid is redrawn when what it shows changes (faces, degradation, restorers); grids of conditions no
longer in the study are removed. ``index.json`` beside them records what each one was drawn from.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..utils.io import sha256_json, write_json
from .identity import restorer_identity
from .inputs import eval_dataset, eval_split, full_dataset, restorer_kwargs
from .spec import StudySpec, applies

INDEX = "index.json"


def sample_grids(spec: StudySpec, root: Path) -> None:
    from ..degrade import degrade_dataset
    from ..restore import restore_dataset
    from ..restore.grid import sample_grid

    folder = root / "artifacts" / "grids"
    try:
        old = json.loads((folder / INDEX).read_text())
    except (OSError, ValueError):
        old = {}
    index: dict[str, str] = {}
    for d in spec.datasets if spec.grid_samples else []:
        full = full_dataset(d.path, d.ferplus, d.label_mode)
        faces = eval_dataset(d, spec.seed)
        base = faces.subset(np.arange(min(spec.grid_samples, len(faces))))
        for dg in spec.degradations:
            for sev in (dg.severities if dg.name != "none" else [0]):
                name = "none" if dg.name == "none" else f"{dg.name}-{sev}"
                restorers = [r for r in spec.restorers if r.name != "identity" and applies(r.conditions, dg.name, sev)]
                key = sha256_json({"data": full.source_hash, "split": eval_split(d, full), "ids": base.ids.tolist(),
                                   "degradation": [dg.name, sev, spec.seed, "small"],
                                   "restorers": [[r.key, restorer_identity(r)] for r in restorers]})
                file = f"{d.name}__{name}.png"
                index[file] = key
                if old.get(file) == key and (folder / file).exists():
                    continue
                degraded = base if dg.name == "none" else \
                    degrade_dataset(base, dg.name, sev, seed=spec.seed, keep_size=False)
                columns = {"original": base.images}
                if dg.name != "none":
                    columns[f"{dg.name} s{sev}"] = degraded.images
                for rs in restorers:
                    try:
                        columns[rs.key] = restore_dataset(degraded, rs.name, **restorer_kwargs(rs)).images
                    except Exception:  # an unavailable restorer is reported by its cells, not here
                        continue
                sample_grid(columns, folder / file)
    for file in set(old) - set(index):
        (folder / file).unlink(missing_ok=True)
    if index or old:
        write_json(folder / INDEX, index)
