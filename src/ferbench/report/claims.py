"""The paper's claimed figures (a package data file with its source), set beside our measurements."""

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


def claims_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per (claim, matching run); a claim no run matches gets one line with ``run = None``.
    Runs with the paper's restorer (GFPGAN) and no degradation come first: they are the closest setting."""
    out = []
    for claim in paper_claims()["claims"]:
        matches = [r for r in rows if any(fnmatch(str(r[key]).lower(), p) for p in claim["match"]
                                          for key in ("model", "registered_model"))]
        matches.sort(key=lambda r: (not r["restorer"].lower().startswith("gfpgan"), r["degradation"] != "none",
                                    int(r["ref"][1:])))
        for run in matches or [None]:
            out.append({"model": claim["model"], "claimed_accuracy": claim["accuracy"], "run": run})
    return out
