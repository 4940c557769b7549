"""Prompt sensitivity: the same model and data under each prompt variant, one run directory per variant,
and a table of accuracy (with its CI), f1_macro and unparsed answers per prompt.

Choose prompts on PublicTest: picking the best of several prompts on the test split is selection on test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ...data.dataset import Dataset
from ..predictor import Predictor


def option_key(predictor: Predictor) -> str:
    """CLIP models vary their template set (``prompts``); generative and remote ones their ``prompt``."""
    return "prompts" if hasattr(predictor, "with_prompts") else "prompt"


def with_prompt(predictor: Predictor, prompt: str) -> Predictor:
    """The loaded model under another prompt, without reloading weights."""
    if hasattr(predictor, "with_prompts"):
        return predictor.with_prompts(prompt)
    if hasattr(predictor, "with_prompt"):
        return predictor.with_prompt(prompt)
    raise ValueError(f"{predictor.name} has no prompts to vary (CLIP, VLM and remote models do)")


def run_prompts(predictor: Predictor, prompts: Sequence[str], ds: Dataset, out_root: str | Path,
                config: dict[str, Any], seed: int = 0, n_boot: int = 1000, batch_size: int | None = None,
                progress: bool = True) -> list[dict[str, Any]]:
    """Evaluate every prompt into ``out_root/<prompt>`` (runs resume) and return the table rows."""
    from ...runs.evaluate import evaluate

    key = option_key(predictor)
    dirs = []
    for prompt in prompts:
        variant = with_prompt(predictor, prompt)
        run_config = {**config, "options": {**config.get("options", {}), key: prompt}}
        out = Path(out_root) / Path(prompt).stem
        evaluate(variant, ds, out, run_config, seed=seed, n_boot=n_boot, batch_size=batch_size, progress=progress)
        dirs.append(out)
    return sensitivity_rows(dirs)


def sensitivity_rows(run_dirs: Sequence[str | Path]) -> list[dict[str, Any]]:
    """One row per run directory: the prompt, accuracy [CI], f1_macro, n, n_scored, unparsed, images/s."""
    from ...runs.files import load_run

    rows = []
    for d in run_dirs:
        run = load_run(d)
        m = run.get("metrics", {})
        options = run.get("config", {}).get("options", {})
        rows.append({"prompt": options.get("prompt") or options.get("prompts") or Path(d).name, "run": str(d),
                     "accuracy": m.get("accuracy"), "accuracy_ci": m.get("accuracy_ci"), "f1_macro": m.get("f1_macro"),
                     "n": m.get("n"), "n_scored": m.get("n_scored"),
                     "unparsed": m.get("n_unscored"), "accuracy_scored": m.get("accuracy_scored"),
                     "items_per_s": run.get("cost", {}).get("inference", {}).get("items_per_s")})
    return rows
