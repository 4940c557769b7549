"""The paper's claimed figures (a package data file with its source), set beside like-for-like measurements.

A claim is set beside a run only when the run's registered model is the claim's architecture (``match``) and
its weights are real: trained (``requires: trained``: the run carries a training cost) or the paper's own
checkpoint (``weights``: patterns the weights' path or source must match, so a random tiny CLIP never
stands beside the paper's CLIP). Otherwise the row says "not measured here" and why (``not_measured``).
"""

from __future__ import annotations

import json
from fnmatch import fnmatch
from functools import cache
from importlib import resources
from typing import Any

CLAIMS_FILE = "paper_claims.json"


@cache
def paper_claims() -> dict[str, Any]:
    return json.loads(resources.files("ferbench.report").joinpath(CLAIMS_FILE).read_text(encoding="utf-8"))


def like_for_like(claim: dict[str, Any], row: dict[str, Any]) -> bool:
    arch = str(row.get("registered_model") or "").lower()
    if not any(fnmatch(arch, p) for p in claim["match"]):
        return False
    if claim.get("requires") == "trained" and not row.get("training_wall_s"):
        return False
    weights = str(row.get("model_weights") or "").lower()
    return not claim.get("weights") or any(fnmatch(weights, p) for p in claim["weights"])


def claims_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per (claim, like-for-like run); a claim no run matches gets one line with ``run = None`` and
    the reason. Runs with the paper's restorer (GFPGAN) and no degradation come first: the closest setting."""
    out = []
    for claim in paper_claims()["claims"]:
        matches = [r for r in rows if like_for_like(claim, r)]
        matches.sort(key=lambda r: (not r["restorer"].lower().startswith("gfpgan"), r["degradation"] != "none",
                                    int(r["ref"][1:])))
        for run in matches or [None]:
            out.append({"model": claim["model"], "claimed_accuracy": claim["accuracy"], "run": run,
                        "why": claim.get("not_measured", "")})
    return out
