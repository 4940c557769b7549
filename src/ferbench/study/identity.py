"""What a study cell's result depends on, hashed: a cell is reused only when this identity is unchanged.

The identity is computed before anything runs, from the study and the files it names: the dataset file's
SHA-256 (not its path), the evaluated split and limit, the degradation (severity, seed, implementation
version), the restorer (parameters, output size, weights' SHA-256, implementation version), the model
(registered name, options, the SHA-256 of every file it loads: a checkpoint and its config sidecar, an ensemble
file and its members' files, a packaged model's own files; or the identity of the training that produces it),
the seed, ``n_boot`` and whether leaked rows are audited. A re-run compares it with the identity stored in each
run's ``run.json`` and says what changed.
"""

from __future__ import annotations

from typing import Any

from ..models.files import files_digest, model_files, packaged_files
from ..utils.io import path_digest
from .spec import Cell, ModelSpec, RestorerSpec, StudySpec

#: Bump when the evaluation itself changes its numbers (metrics, bootstrap): every cell then recomputes.
CELL_FORMAT = 1

#: Readable names of identity fields, for "recomputed because ... changed".
_NAMES = {
    "data.sha256": "dataset file", "data.ferplus_sha256": "FER+ file", "data.label_mode": "label mode",
    "data.split": "split", "data.limit": "limit", "data.sample": "sample", "degradation": "degradation", "restorer": "restorer",
    "restorer.weights_sha256": "restorer weights", "restorer.params": "restorer parameters",
    "model.weights_sha256": "model weights", "model.packaged_sha256": "packaged weights",
    "model.trained": "training settings or data", "model.options": "model options", "model.registered": "model",
    "seed": "seed", "n_boot": "n_boot", "audit": "leakage audit", "format": "ferbench evaluation format",
}


#: Documentation beside the shipped weights: editing a model card must not recompute a study.
_DOCS = {".md", ".txt"}


def packaged_weights_hash(name: str) -> str:
    """A model used without ``weights`` is defined by its packaged files (the checkpoint and its config, or an
    ensemble's file and its members'); for an entry that names none, by every file ferbench ships."""
    from ..models.default_model import WEIGHTS_DIR
    from ..models.keras.sources import PRETRAINED_DIR

    files = packaged_files(name)
    if files is None:
        files = sorted(f for d in (WEIGHTS_DIR, PRETRAINED_DIR) for f in d.rglob("*")
                       if f.is_file() and f.suffix not in _DOCS)
    return files_digest(files)


def restorer_identity(rs: RestorerSpec | None) -> dict[str, Any] | None:
    if rs is None or rs.name == "identity":
        return None
    from ..restore.registry import get_restorer_entry

    return {"name": rs.name, "params": rs.params, "size": rs.size, "weights_sha256": path_digest(rs.weights),
            "impl_version": getattr(get_restorer_entry(rs.name).fn, "impl_version", 1)}


def train_identity(cfg, data_sha256: str, restorer: dict[str, Any] | None) -> dict[str, Any]:
    """What a model trained by the study depends on: its settings (without file paths) and the data content."""
    settings = {k: v for k, v in cfg.result_affecting().items() if k not in ("data", "ferplus", "restore")}
    return {"settings": settings, "data_sha256": data_sha256, "ferplus_sha256": path_digest(cfg.ferplus),
            "restorer": restorer}


def model_identity(m: ModelSpec, trained: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"registered": m.registered, "options": m.options}
    if m.train is not None:
        out["trained"] = trained.get(m.name)
    elif m.weights:
        out["weights_sha256"] = files_digest(model_files(m.registered, m.weights))
    else:
        out["packaged_sha256"] = packaged_weights_hash(m.registered)
    return out


def cell_identity(cell: Cell, spec: StudySpec, data_sha256: str, split: str,
                  trained: dict[str, str]) -> dict[str, Any]:
    """``trained``: the training identity hash of each model the study trains, by model name."""
    degradation = None
    if cell.degradation != "none":
        from ..degrade.registry import get_degradation_entry

        meta = get_degradation_entry(cell.degradation).meta
        degradation = {"name": cell.degradation, "severity": cell.severity, "seed": spec.seed,
                       "impl_version": meta.get("impl_version", 1),
                       "small_faces_kept": bool(meta.get("resizes"))}  # see inputs.prepare
    ds = cell.dataset
    return {
        "format": CELL_FORMAT,
        "data": {"sha256": data_sha256, "ferplus_sha256": path_digest(ds.ferplus), "label_mode": ds.label_mode,
                 "split": split, "limit": ds.limit, "sample": ds.sample},
        "degradation": degradation, "restorer": restorer_identity(cell.restorer),
        "model": model_identity(cell.model, trained),
        "seed": spec.seed, "n_boot": spec.n_boot, "audit": spec.audit,
    }


def changed(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """Readable names of the identity fields that differ (``[]`` when equal)."""
    if not isinstance(old, dict):
        return ["ferbench evaluation format"]  # a run written before cell identities existed
    names: list[str] = []
    for path in _diff(old, new):
        name = next((_NAMES[p] for p in _prefixes(path) if p in _NAMES), path)
        if name not in names:
            names.append(name)
    return names


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b), key=str)
                for d in _diff(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))]
    return [] if a == b else [path]


def _prefixes(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:k]) for k in range(len(parts), 0, -1)]
