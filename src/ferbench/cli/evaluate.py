"""``ferbench eval`` and ``ferbench compare``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..data.errors import OnBad
from .common import BackendOpt, FerplusOpt, LimitOpt, OnBadOpt, SizeOpt, console, emit_json, fail, load, load_model, out


def parse_options(pairs: Optional[list[str]]) -> dict:
    """``key=value`` pairs; values are read as YAML scalars (``3``, ``true``, ``a,b`` stays a string)."""
    import yaml

    options = {}
    for pair in pairs or []:
        if "=" not in pair:
            fail(f"--option {pair!r}: expected key=value", code=2)
        key, value = pair.split("=", 1)
        options[key.strip().replace("-", "_")] = yaml.safe_load(value)
    return options


def eval_command(
    data: Path = typer.Option(..., "--data", "-d", help="FER-2013 CSV or image folder to evaluate on."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Registered model name (ferbench models "
                                        "list). Default: the packaged fernet_kd2 (models/weights/MODEL_CARD.md)."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", "--weights", "-w",
                                              help="Weights: a ferbench .safetensors checkpoint, or whatever "
                                              "the model family loads (HDF5, a local VLM directory...)."),
    split: Optional[list[str]] = typer.Option(None, "--split", "-s", help="Split(s) to evaluate. Default: "
                                              "PrivateTest if present, else PublicTest, else the one other test "
                                              "split; a file with only Training/unsplit rows needs an explicit "
                                              "--split."),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Run directory (default: a new folder "
                                           "under runs/). An existing run with the same configuration resumes."),
    exclude_leaked: Optional[Path] = typer.Option(None, "--exclude-leaked", exists=True, dir_okay=False,
                                                  help="Clean-split JSON from `ferbench data audit "
                                                  "--write-clean-split`: also report metrics without leaked rows."),
    tta: str = typer.Option("none", help="Test-time augmentation for CNNs: flip or tencrop; none keeps "
                            "the model's own (tencrop inside fernet_ensemble, none otherwise)."),
    batch_size: Optional[int] = typer.Option(None, help="Images per forward pass (default: the model's)."),
    seed: int = typer.Option(0, help="Seed for the bootstrap and any randomness."),
    n_boot: int = typer.Option(1000, help="Bootstrap resamples for the 95% confidence intervals."),
    threads: Optional[int] = typer.Option(None, help="Torch CPU threads (default: all cores)."),
    backend: str = BackendOpt,
    ferplus: Optional[Path] = FerplusOpt,
    label_mode: str = typer.Option("majority", help="FER+ labels: majority, plurality or soft."),
    size: Optional[int] = SizeOpt,
    limit: Optional[int] = LimitOpt,
    on_bad: OnBad = OnBadOpt,
    option: Optional[list[str]] = typer.Option(None, "--option", help="Model option key=value (repeatable), "
                                               "e.g. --option prompts=ensemble."),
    trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help="Allow a VLM's own Python code "
                                           "from its model directory to run (Phi-3.5-Vision needs it)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Evaluate a model: writes run.json, predictions.jsonl and metrics.json, prints the main figures."""
    import torch

    from ..cost import PhaseMeter
    from ..runs.evaluate import evaluate
    from ..runs.files import new_run_dir

    from ..data.errors import DataError
    from ..data.splits import default_split, read_clean_split
    from ..models.registry import MODELS

    if threads:
        torch.set_num_threads(threads)
    try:  # cheap checks first: a typo must not cost a data and model load
        clean = read_clean_split(exclude_leaked) if exclude_leaked else None
        if model is not None:
            MODELS.get(model)
    except (DataError, KeyError) as exc:
        fail(str(exc), code=2)
    with PhaseMeter("preprocessing") as pre:
        ds = load(data, None, on_bad, ferplus, label_mode, size)
        try:
            chosen = split or [default_split(ds)]
            ds = ds.select(chosen, limit=limit)
            clean_ids = clean.ids_for(ds, chosen) if clean else None
        except ValueError as exc:
            fail(str(exc), code=2)
    pre.set_items(len(ds))
    options = parse_options(option)
    if trust_remote_code:
        options["trust_remote_code"] = True
    if tta != "none":
        options["tta"] = tta
    if backend != "torch":
        options.update(backend=backend, **({"threads": threads} if threads else {}))
    predictor = load_model(model, checkpoint, **options)
    run_dir = out_dir or new_run_dir("runs", f"{predictor.name}-{'+'.join(chosen)}")
    config = {"model": model, "weights": str(checkpoint) if checkpoint else None, "data": str(data),
              "split": chosen, "limit": limit, "ferplus": str(ferplus) if ferplus else None,
              "label_mode": label_mode if ferplus else None, "options": options,
              "exclude_leaked": str(exclude_leaked) if exclude_leaked else None}
    console.print(f"evaluating [bold]{predictor.name}[/] on {len(ds):,} images ({', '.join(chosen)}) -> {run_dir}")
    try:
        metrics = evaluate(predictor, ds, run_dir, config, seed=seed, n_boot=n_boot, batch_size=batch_size,
                           clean_ids=clean_ids, extra_cost={"preprocessing": pre.result}, progress=not quiet)
    except ValueError as exc:
        fail(str(exc), code=2)
    print_metrics(metrics, predictor.name)


def print_metrics(m: dict, name: str) -> None:
    def ci(key: str) -> str:
        low, high = m.get(f"{key}_ci", [float("nan")] * 2)
        return f"{m[key]:.2%} [{low:.2%}, {high:.2%}]"

    out.print(f"[bold]{name}[/]  n={m['n']:,}  n_scored={m['n_scored']:,}")
    out.print(f"  accuracy           {ci('accuracy')}")
    out.print(f"  balanced_accuracy  {ci('balanced_accuracy')}")
    out.print(f"  f1_macro           {ci('f1_macro')}")
    out.print(f"  f1_weighted        {ci('f1_weighted')}")
    if "ece" in m:
        out.print(f"  ece                {m['ece']:.4f}")
    if "deduplicated" in m:
        d = m["deduplicated"]
        out.print(f"  without leaked rows (n={d['n']:,}, {d['excluded']} excluded): accuracy {d['accuracy']:.2%} "
                  f"[{d['accuracy_ci'][0]:.2%}, {d['accuracy_ci'][1]:.2%}], f1_macro {d['f1_macro']:.2%}")


def compare_command(
    run_a: Path = typer.Argument(..., exists=True, file_okay=False, help="First run directory."),
    run_b: Path = typer.Argument(..., exists=True, file_okay=False, help="Second run directory."),
    n_boot: int = typer.Option(1000, help="Paired bootstrap resamples."),
    seed: int = typer.Option(0),
    as_json: bool = typer.Option(False, "--json", help="Print JSON to stdout."),
) -> None:
    """Paired comparison of two runs on the same samples: McNemar's test and a paired bootstrap of the
    accuracy difference."""
    from ..runs.compare import compare_runs

    try:
        result = compare_runs(run_a, run_b, n_boot=n_boot, seed=seed)
    except ValueError as exc:
        fail(str(exc), code=2)
    if as_json:
        emit_json(result)
        return
    out.print(f"n={result['n']:,} shared samples  A={result['accuracy_a']:.2%}  B={result['accuracy_b']:.2%}")
    lo, hi = result["accuracy_diff_ci"]
    out.print(f"accuracy A-B = {result['accuracy_diff']:+.2%}  95% CI [{lo:+.2%}, {hi:+.2%}] (paired bootstrap)")
    out.print(f"McNemar: only A right {result['only_a_correct']}, only B right {result['only_b_correct']}, "
              f"exact p = {result['mcnemar_exact_p']:.4g}")
