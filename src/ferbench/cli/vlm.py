"""``ferbench vlm ...``: prompt sensitivity, linear probe / few-shot, fine-tuning, CNN+VLM fusion, tiny models."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .common import console, emit_json, fail, load, out
from .evaluate import parse_options

app = typer.Typer(help="Vision-language models: prompt sensitivity, CLIP linear probe / few-shot / fine-tuning, "
                  "late fusion with a CNN, tiny offline test models.", no_args_is_help=True)

ModelOpt = typer.Option(..., "--model", "-m", help="Registered model (ferbench models list --family clip|vlm|remote).")
WeightsOpt = typer.Option(None, "--weights", "-w", help="Model directory or file (or a clip_classifier checkpoint).")
DataOpt = typer.Option(..., "--data", "-d", help="FER-2013 CSV or image folder.")
OptionOpt = typer.Option(None, "--option", help="Model option key=value (repeatable), as for ferbench eval.")
TrustOpt = typer.Option(False, "--trust-remote-code", help="Allow a VLM's own Python code (Phi-3.5-Vision).")
SeedOpt = typer.Option(0, help="Seed (few-shot draw, shuffling, bootstrap).")
QuietOpt = typer.Option(False, "--quiet", "-q", help="No progress bars.")


def _predictor(model: Optional[str], weights: Optional[Path], option: Optional[list[str]], trust: bool):
    from ..models import load_predictor

    options = parse_options(option)
    if trust:
        options["trust_remote_code"] = True
    try:
        return load_predictor(model, weights, **options), options
    except (FileNotFoundError, ValueError, KeyError, ImportError) as exc:
        fail(str(exc), code=2)


def _split(ds, split: str, limit: Optional[int] = None):
    try:
        return ds.select([split], limit=limit)
    except ValueError as exc:
        fail(str(exc), code=2)


@app.command("prompts")
def prompts_command(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model whose prompts to compare."),
    weights: Optional[Path] = WeightsOpt,
    data: Optional[Path] = typer.Option(None, "--data", "-d", help="FER-2013 CSV or image folder."),
    split: str = typer.Option("PublicTest", "--split", "-s", help="Split to compare prompts on. PublicTest: choosing "
                              "a prompt on the test split would be selection on test."),
    prompt: Optional[list[str]] = typer.Option(None, "--prompt", "-p", help="Prompt variant (repeatable): a packaged "
                                               "name or a YAML file. Default: every packaged one for the family."),
    limit: Optional[int] = typer.Option(None, help="First N samples of the split (quick runs)."),
    option: Optional[list[str]] = OptionOpt,
    trust_remote_code: bool = TrustOpt,
    out_dir: Path = typer.Option(Path("runs/prompts"), "--out", "-o", help="One run directory per prompt under it."),
    batch_size: Optional[int] = typer.Option(None, help="Images per batch (default: the model's)."),
    seed: int = SeedOpt,
    n_boot: int = typer.Option(1000, help="Bootstrap resamples for the CIs."),
    as_json: bool = typer.Option(False, "--json", help="Print the table as JSON."),
    list_only: bool = typer.Option(False, "--list", help="List the packaged prompt sets and exit."),
    quiet: bool = QuietOpt,
) -> None:
    """Prompt sensitivity: accuracy per prompt variant, one run per prompt (runs resume)."""
    from ..models.vlm.prompts import catalogue
    from ..models.vlm.sensitivity import option_key, run_prompts

    if list_only:
        if as_json:
            emit_json(catalogue())
        for kind, names in ({} if as_json else catalogue()).items():
            out.print(f"[bold]{kind}[/]: {', '.join(names)}")
        return
    if model is None or data is None:
        fail("--model and --data are required (or --list)", code=2)
    predictor, options = _predictor(model, weights, option, trust_remote_code)
    key = option_key(predictor)
    prompts = prompt or catalogue()["clip_templates" if key == "prompts" else "vlm_prompts"]
    ds = _split(load(data), split, limit)
    config = {"model": model, "weights": str(weights) if weights else None, "data": str(data), "split": [split],
              "limit": limit, "options": options}
    try:
        rows = run_prompts(predictor, prompts, ds, out_dir, config, seed=seed, n_boot=n_boot, batch_size=batch_size,
                           progress=not quiet)
    except ValueError as exc:
        fail(str(exc), code=2)
    if as_json:
        emit_json(rows)
        return
    table = Table(title=f"prompt sensitivity: {predictor.name} on {split} (n={len(ds):,})")
    for col in ("prompt", "accuracy [95% CI]", "f1_macro", "unparsed", "img/s"):
        table.add_column(col)
    for r in rows:
        lo, hi = r["accuracy_ci"] or (float("nan"),) * 2
        table.add_row(r["prompt"], f"{r['accuracy']:.2%} [{lo:.2%}, {hi:.2%}]", f"{r['f1_macro']:.2%}",
                      str(r["unparsed"]), f"{r['items_per_s']}")
    out.print(table)


def _train_val(data: Path, train_split: str, val_split: str, limit_train: Optional[int], limit_val: Optional[int]):
    ds = load(data)
    return ds, _split(ds, train_split, limit_train), _split(ds, val_split, limit_val)


def _save(module, predictor, report: dict, ds, train, val, path: Path) -> None:
    from ..models.vlm.checkpoint import save_classifier

    saved = save_classifier(module, predictor, report, ds, train, val, path)
    console.print(f"wrote {saved} (+ {saved.with_suffix('.json').name}); evaluate with: "
                  f"ferbench eval --weights {saved}")


@app.command("probe")
def probe_command(
    output: Path = typer.Option(..., "--out", "-o", help="Checkpoint to write (.safetensors + .json)."),
    model: str = ModelOpt,
    weights: Optional[Path] = WeightsOpt,
    option: Optional[list[str]] = OptionOpt,
    data: Path = DataOpt,
    train_split: str = typer.Option("Training", help="Split to fit on."),
    val_split: str = typer.Option("PublicTest", help="Split to choose C on (never the test split)."),
    shots: Optional[int] = typer.Option(None, help="Few-shot: this many training images per class (seeded draw)."),
    c: Optional[list[float]] = typer.Option(None, "--C", help="Inverse regularisation values to try (repeatable; "
                                            "default 0.01 0.1 1 10 100)."),
    limit_train: Optional[int] = typer.Option(None, help="First N training samples (quick runs)."),
    limit_val: Optional[int] = typer.Option(None, help="First N validation samples (quick runs)."),
    batch_size: int = typer.Option(64, help="Images per embedding batch."),
    seed: int = SeedOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Linear probe (or few-shot with --shots K) on frozen CLIP image embeddings.

    Logistic regression on Training, C chosen on PublicTest; writes a checkpoint that ferbench eval loads."""
    from ..models.vlm.probe import DEFAULT_CS, train_probe

    predictor, _ = _predictor(model, weights, option, False)
    ds, train, val = _train_val(data, train_split, val_split, limit_train, limit_val)
    try:
        module, report = train_probe(predictor, train, val, shots=shots, seed=seed, cs=c or DEFAULT_CS,
                                     batch_size=batch_size, progress=not quiet)
    except ValueError as exc:
        fail(str(exc), code=2)
    for row in report["C_table"]:
        out.print(f"C={row['C']:<8g} {val_split} accuracy {row['val_accuracy']:.2%}")
    out.print(f"chose C={report['C']:g}: {val_split} accuracy {report['val_accuracy']:.2%} "
              f"({report['n_train']:,} training images)")
    _save(module, predictor, report, ds, train, val, output)


@app.command("finetune")
def finetune_command(
    output: Path = typer.Option(..., "--out", "-o", help="Checkpoint to write (.safetensors + .json)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="CLIP-family model (omit with a checkpoint)."),
    weights: Optional[Path] = WeightsOpt,
    option: Optional[list[str]] = OptionOpt,
    data: Path = DataOpt,
    train_split: str = typer.Option("Training", help="Split to train on."),
    val_split: str = typer.Option("PublicTest", help="Split to select the best epoch on (never the test split)."),
    unfreeze: int = typer.Option(2, help="0: head only; N: last N transformer blocks + head; -1: everything."),
    epochs: int = typer.Option(3, help="Epochs."),
    lr: float = typer.Option(1e-5, help="Learning rate of the encoder (the head gets --head-lr)."),
    head_lr: Optional[float] = typer.Option(None, help="Learning rate of the head (default 10 × --lr)."),
    weight_decay: float = typer.Option(0.05, help="AdamW weight decay."),
    batch_size: int = typer.Option(32, help="Images per step."),
    shots: Optional[int] = typer.Option(None, help="Few-shot: this many training images per class (seeded draw)."),
    limit_train: Optional[int] = typer.Option(None, help="First N training samples (quick runs)."),
    limit_val: Optional[int] = typer.Option(None, help="First N validation samples (quick runs)."),
    max_minutes: Optional[float] = typer.Option(None, help="Stop after the epoch that exceeds this many minutes."),
    threads: Optional[int] = typer.Option(None, help="Torch CPU threads."),
    seed: int = SeedOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Full or partial fine-tuning of a CLIP-family classifier on Training.

    Starts from the model's zero-shot or probe head; the best epoch on PublicTest is written as a checkpoint
    that ferbench eval loads."""
    import torch

    from ..cost import PhaseMeter
    from ..models.vlm.finetune import finetune
    from ..models.vlm.probe import clip_module, few_shot_indices

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    predictor, _ = _predictor(model, weights, option, False)
    ds, train, val = _train_val(data, train_split, val_split, limit_train, limit_val)
    try:
        clip_module(predictor)
        if shots is not None:
            train = train.subset(few_shot_indices(train.labels, shots, seed))
        with PhaseMeter("training", items=len(train) * epochs, batch_size=batch_size) as meter:
            module, report = finetune(predictor, train, val, unfreeze=unfreeze, epochs=epochs, lr=lr, head_lr=head_lr,
                                      weight_decay=weight_decay, batch_size=batch_size, seed=seed,
                                      max_minutes=max_minutes, progress=not quiet)
    except ValueError as exc:
        fail(str(exc), code=2)
    report.update(shots=shots, cost={"training": meter.result})
    for row in report["history"]:
        out.print(f"epoch {row['epoch']}: {val_split} accuracy {row['val_accuracy']:.2%}")
    out.print(f"best epoch {report['best_epoch']} ({report['trainable_params']:,} trainable parameters)")
    _save(module, predictor, report, ds, train, val, output)


@app.command("fuse")
def fuse_command(
    run_a: Path = typer.Argument(..., exists=True, file_okay=False, help="Run directory of model A (PublicTest)."),
    run_b: Path = typer.Argument(..., exists=True, file_okay=False, help="Run directory of model B (same samples)."),
    output: Path = typer.Option(Path("fusion.json"), "--out", "-o", help="Fusion file to write."),
    rule: str = typer.Option("logprob", help="logprob: weighted geometric mean; prob: weighted mean."),
    metric: str = typer.Option("nll", help="Fit the weight by nll (log loss) or accuracy."),
    grid: int = typer.Option(101, help="Weights tried in [0, 1]."),
    as_json: bool = typer.Option(False, "--json", help="Print the fusion spec as JSON."),
) -> None:
    """Fit a CNN+VLM late-fusion weight on two runs' PublicTest predictions.

    ferbench eval --model hybrid --weights FILE then runs the fused model."""
    from ..models.vlm.hybrid import fusion_from_runs, write_fusion

    try:
        spec = fusion_from_runs(run_a, run_b, rule=rule, metric=metric, grid=grid)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        fail(str(exc), code=2)
    write_fusion(output, spec)
    if as_json:
        emit_json(spec)
        return
    f = spec["fitted_on"]
    out.print(f"weight of A = {spec['weight']:.2f} ({rule}, by {metric}) on n={f['n']:,}: "
              f"accuracy A {f['accuracy_a']:.2%}, "
              f"B {f['accuracy_b']:.2%}, fused {f['accuracy_fused']:.2%} (fitted on these samples: optimistic)")
    console.print(f"wrote {output}; evaluate with: ferbench eval --model hybrid --weights {output}")


@app.command("tiny")
def tiny_command(
    kind: str = typer.Argument(..., help="open_clip, hf_clip, siglip, siglip_spm, llava, qwen2_vl, paligemma or "
                               "smolvlm."),
    directory: Path = typer.Argument(..., help="Directory to write the model into."),
    seed: int = SeedOpt,
) -> None:
    """Write a tiny randomly initialised model (meaningless predictions) to try every backend offline."""
    from ..models.vlm.tiny import build_tiny

    try:
        path = build_tiny(kind, directory, seed=seed)
    except ValueError as exc:
        fail(str(exc), code=2)
    model = {"open_clip": "clip", "siglip_spm": "siglip"}.get(kind, kind)
    console.print(f"wrote {path}; try: ferbench eval --model {model} --weights {path} --data FER.csv --limit 50")
