"""Models a study trains itself (``train:`` blocks), each in ``RESULTS/models/<name>/``.

A trained model is reused when the identity of its training (settings, data content, training restorer)
is the one recorded beside it; an interrupted training with the same identity resumes; anything else
starts again from scratch (the old folder is replaced), so a study never mixes two configurations and
never asks the user for ``--resume``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

from ..utils.io import sha256_json, write_json
from .identity import restorer_identity, train_identity
from .spec import StudySpec

IDENTITY = "study-identity.json"


def train_models(spec: StudySpec, root: Path, missing: dict[str, str], say: Callable[[str], None],
                 progress: bool, needed: set[str]) -> dict[str, str]:
    """Train (or reuse, or resume) every model the study trains; returns each one's training identity hash."""
    from ..train import TrainConfig
    from ..train.fit import TRAIN_JSON, train
    from .inputs import full_dataset, prepare

    restorers = {r.key: r for r in spec.restorers}
    keys: dict[str, str] = {}
    for m in spec.models:
        if m.train is None or f"model {m.name}" in missing:
            continue
        out = root / "models" / m.name
        data = spec.datasets[0]
        rs = restorers.get(m.train_restorer) if m.train_restorer else None
        cfg = TrainConfig.model_validate({"seed": spec.seed, **spec.train_defaults, **m.train, "data": data.path,
                                          "restore": rs.model_dump() if rs else None})
        full = full_dataset(data.path, data.ferplus, data.label_mode)
        identity = train_identity(cfg, full.source_hash, restorer_identity(rs))
        keys[m.name] = key = sha256_json(identity)
        if m.name not in needed:
            continue
        previous = _read(out / IDENTITY).get("key")
        finished = _read(out / TRAIN_JSON).get("status") == "finished" and (out / "model.safetensors").exists()
        if previous == key and finished:
            continue
        resume = previous == key and (out / "checkpoints" / "last.ckpt").exists()
        if out.exists() and not resume:
            if previous is not None or (out / TRAIN_JSON).exists():
                say(f"model {m.name}: its training settings or data changed: training it again from scratch")
            shutil.rmtree(out)
        write_json(out / IDENTITY, {"key": key, "identity": identity})
        dataset = None
        if rs is not None:
            subset = full.select([cfg.train_split, cfg.val_split])
            dataset, _ = prepare(subset, "none", 0, rs, spec.seed)
        say(f"training {m.name} ({cfg.model}, {cfg.epochs} epochs max"
            f"{f', {cfg.max_minutes} min max' if cfg.max_minutes else ''}) -> {out}"
            f"{' (resuming)' if resume else ''}")
        train(cfg, out, resume=resume, progress=progress, dataset=dataset)
    return keys


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
