"""Ensembles: the mean of several models' probabilities, with equal weights.

Equal weights on purpose: weights fitted on PublicTest would make its accuracy optimistic.
An ensemble is a small JSON file:

    {"ferbench_ensemble": 1, "members": [{"model": "fernet", "weights": "fernet.safetensors",
                                           "options": {"tta": "flip"}}, {"model": "big_xception"}]}

Member weight paths are relative to the JSON file; a member without ``weights`` uses its packaged ones.
``ferbench eval --model ensemble --weights FILE`` runs any such file; ``fernet_ensemble`` is the packaged one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..utils.io import read_json
from .factory import load_predictor, member_options
from .predictor import Prediction, Predictor, summed_cost
from .registry import register_model


class EnsemblePredictor(Predictor):
    def __init__(self, members: list[Predictor], name: str = "ensemble", spec: dict[str, Any] | None = None):
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members, self.name, self.spec = members, name, spec or {}
        self.batch_size = min(m.batch_size for m in members)

    def predict(self, images: np.ndarray) -> Prediction:
        probas = [m.predict(images).proba for m in self.members]
        if not all(np.isfinite(p).all() for p in probas):
            raise ValueError(f"{self.name}: a member gave no probabilities; ensembles need scoring models")
        return Prediction.from_proba(np.mean(probas, axis=0))

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "family": "ensemble", "combine": "mean_probability",
                "members": [m.describe() for m in self.members]}

    def cost_info(self) -> dict[str, Any]:
        infos = [m.cost_info() for m in self.members]
        return {"members": infos, **summed_cost(infos)}


def load_ensemble_file(path: str | Path, name: str = "ensemble", **options: Any) -> EnsemblePredictor:
    """``options`` (e.g. tta, batch_size, device) override every member's own; ``trust_remote_code`` is
    consent for the members whose options ask for it, as for fusions."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ensemble file {path} not found")
    spec = read_json(path)
    if spec.get("ferbench_ensemble") != 1 or not spec.get("members"):
        raise ValueError(f"{path}: not a ferbench ensemble file (needs ferbench_ensemble: 1 and members)")
    consent = options.pop("trust_remote_code", False)
    members = []
    for m in spec["members"]:
        weights = m.get("weights")
        if weights is not None and not Path(weights).is_absolute():
            weights = path.parent / weights
        members.append(load_predictor(m["model"], weights, **{**member_options(m.get("options", {}), consent),
                                                              **options}))
    return EnsemblePredictor(members, name=name, spec=spec)


def _load_any(name: str, weights: str | Path | None = None, **options: Any) -> EnsemblePredictor:
    if weights is None:
        raise FileNotFoundError("--model ensemble needs --weights ENSEMBLE.json (see ferbench.models.ensemble)")
    return load_ensemble_file(weights, **options)


register_model("ensemble", family="ensemble", predictor=_load_any,
               description="mean probability of several models (--weights ensemble.json)")(_load_any)
