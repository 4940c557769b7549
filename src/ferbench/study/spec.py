"""Study files: datasets × degradations × restorers × models, plus training settings, prompts and seeds.

A study is YAML validated by these pydantic models. Strings may use ``${VAR}`` and ``${VAR:-default}``
(environment variables), so one file works on machines with different data and weight locations.
Relative paths are resolved against the current directory.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

BUILTIN = ("quick", "smoke", "paper")
_VAR = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def expand(value: Any) -> Any:
    """``${VAR}``/``${VAR:-default}`` and ``~`` in every string of a parsed YAML document."""
    if isinstance(value, str):
        value = _VAR.sub(lambda m: os.environ.get(m.group(1)) or (m.group(2) or ""), value)
        return os.path.expanduser(value) if value.startswith("~") else value
    if isinstance(value, list):
        return [expand(v) for v in value]
    if isinstance(value, dict):
        return {k: expand(v) for k, v in value.items()}
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetSpec(Strict):
    name: str = "fer2013"
    path: str
    split: str = "auto"                 # evaluation split; auto = PrivateTest if present, else PublicTest
    limit: Optional[int] = None         # first N evaluation images (quick studies)
    sample: Optional[int] = Field(None, ge=7)  # a fixed class-stratified random sample of N faces (study seed)
    ferplus: Optional[str] = None
    label_mode: Literal["majority", "plurality", "soft"] = "majority"

    @model_validator(mode="after")
    def _one_subset(self) -> "DatasetSpec":
        if self.limit is not None and self.sample is not None:
            raise ValueError(f"dataset {self.name}: give limit (the first N faces) or sample (a stratified sample), "
                             "not both")
        return self


class DegradationSpec(Strict):
    name: str = "none"
    severities: list[int] = Field(default_factory=lambda: [0])

    @field_validator("severities")
    @classmethod
    def _range(cls, v: list[int]) -> list[int]:
        if any(s < 0 or s > 5 for s in v):
            raise ValueError("severities are 1..5 (0 = none)")
        return v


class RestorerSpec(Strict):
    name: str
    label: Optional[str] = None         # display/cell name, when one restorer appears with several settings
    params: dict[str, Any] = Field(default_factory=dict)
    weights: Optional[str] = None
    size: Optional[int] = None          # output size (None: the input size)
    conditions: Optional[list[str]] = None  # only these conditions ("downscale", "downscale-2", "none"); None: all

    @property
    def key(self) -> str:
        return self.label or self.name


class ModelSpec(Strict):
    name: str                           # display/cell name
    model: Optional[str] = None         # registered model (default: name)
    weights: Optional[str] = None
    options: dict[str, Any] = Field(default_factory=dict)
    train: Optional[dict[str, Any]] = None     # TrainConfig overrides: train this model inside the study
    train_restorer: Optional[str] = None       # restorer key applied to training faces (None: originals)
    conditions: Optional[list[str]] = None     # evaluated only under these conditions (as for restorers)

    @property
    def registered(self) -> str:
        return self.model or (self.train or {}).get("model") or self.name

    @model_validator(mode="after")
    def _known_backend(self) -> "ModelSpec":
        # options reach load_predictor as keywords: a misspelt backend is caught here, not after the audit runs
        if "backend" in self.options:
            from ..models.export import check_backend

            check_backend(self.options["backend"])
        return self


def applies(conditions: Optional[list[str]], degradation: str, severity: int) -> bool:
    """Whether a restorer or model with these ``conditions`` is crossed with this degradation and severity."""
    return conditions is None or degradation in conditions or f"{degradation}-{severity}" in conditions


class StudySpec(Strict):
    name: str
    description: str = ""
    seed: int = 0
    n_boot: int = 1000
    batch_size: Optional[int] = None
    audit: bool = True                  # run the leakage audit and report metrics without leaked rows
    grid_samples: int = 8               # faces per restoration sample grid (0 = none)
    datasets: list[DatasetSpec]
    degradations: list[DegradationSpec] = Field(default_factory=lambda: [DegradationSpec()])
    restorers: list[RestorerSpec] = Field(default_factory=lambda: [RestorerSpec(name="identity")])
    models: list[ModelSpec]
    train_defaults: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_conditions(self) -> "StudySpec":
        known = {"none"} | {d.name for d in self.degradations}
        known |= {f"{d.name}-{s}" for d in self.degradations for s in d.severities}
        for kind, items in (("restorer", self.restorers), ("model", self.models)):
            for item in items:
                unknown = sorted(set(item.conditions or []) - known)
                if unknown:
                    name = getattr(item, "key", None) or item.name
                    raise ValueError(f"{kind} {name}: conditions {unknown} are not in the study "
                                     f"(known: {', '.join(sorted(known))})")
        return self

    @classmethod
    def load(cls, source: str | Path) -> "StudySpec":
        """A study file, or the name of a built-in study (``quick``, ``smoke``, ``paper``)."""
        if str(source) in BUILTIN and not Path(source).exists():
            text = resources.files("ferbench.study").joinpath("studies", f"{source}.yaml").read_text()
        else:
            text = Path(source).read_text()
        return cls.model_validate(expand(yaml.safe_load(text)))


class Cell(BaseModel):
    """One evaluation: a dataset, a degradation at a severity, a restorer, a model."""

    dataset: DatasetSpec
    degradation: str
    severity: int
    restorer: RestorerSpec
    model: ModelSpec

    @property
    def id(self) -> str:
        degr = "none" if self.degradation == "none" else f"{self.degradation}-{self.severity}"
        raw = f"{self.dataset.name}__{degr}__{self.restorer.key}__{self.model.name}"
        return re.sub(r"[^A-Za-z0-9_.+-]", "_", raw)


def cells(spec: StudySpec) -> list[Cell]:
    out = []
    for ds in spec.datasets:
        for dg in spec.degradations:
            for sev in (dg.severities if dg.name != "none" else [0]):
                for rs in spec.restorers:
                    for m in spec.models:
                        if applies(rs.conditions, dg.name, sev) and applies(m.conditions, dg.name, sev):
                            out.append(Cell(dataset=ds, degradation=dg.name, severity=sev, restorer=rs, model=m))
    ids = [c.id for c in out]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ValueError(f"study {spec.name!r} has duplicate cells {sorted(dupes)}: give restorers/models distinct labels")
    return out
