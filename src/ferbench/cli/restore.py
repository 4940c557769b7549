"""``ferbench restore``, ``degrade``, ``restore-quality`` and ``restore-list``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from ..data.errors import OnBad
from .common import LimitOpt, OnBadOpt, SplitOpt, console, emit_json, fail, load, out

_ERRORS = (FileNotFoundError, ValueError, KeyError, ImportError, RuntimeError, OSError)
WorkersOpt = typer.Option(1, "--workers", "-j", help="Parallel workers: processes (local) or Ray actors; each "
                          "runs whole shards.")
ExecutorOpt = typer.Option("local", "--executor", help="local (this machine's processes) or ray (a Ray cluster "
                           "from $RAY_ADDRESS, else a local one).")
QuietOpt = typer.Option(False, "--quiet", "-q", help="No progress bar.")


def register(app: typer.Typer) -> None:
    app.command("restore")(restore_command)
    app.command("degrade")(degrade_command)
    app.command("restore-quality")(quality_command)
    app.command("restore-list")(list_command)


def _params(pairs: Optional[list[str]]) -> dict[str, Any]:
    from .evaluate import parse_options

    return parse_options(pairs)


def _summary(ds, kind: str) -> dict[str, Any]:
    run = ds.report.get("this_run") or {}
    return {"kind": kind, "n": len(ds), "job_dir": ds.report.get("job_dir"), "fingerprint": ds.fingerprint,
            "stage": ds.options.get(kind), "cost": ds.report.get(f"{kind}_cost"),
            "this_run": {k: run.get(k) for k in ("shards_computed", "shards_reused")} | {
                "images_per_s": (run.get("cost") or {}).get("items_per_s")}}


def restore_command(
    data: Path = typer.Argument(..., exists=True, help="FER-2013 CSV (.csv/.csv.gz) or image folder."),
    restorer: str = typer.Option(..., "--restorer", "-r", help="identity, resize, clahe, histeq, opencv_sr, "
                                 "realesrgan, gfpgan, codeformer, restoreformer (ferbench restore-list)."),
    weights: Optional[Path] = typer.Option(None, "--weights", "-w", help="Weights file: .pb for opencv_sr, "
                                           ".pth/.safetensors for gfpgan, codeformer, restoreformer."),
    download: bool = typer.Option(False, "--download", help="gfpgan/codeformer/restoreformer: fetch the official "
                                  "release file (checked against its SHA-256) when --weights is not given."),
    param: Optional[list[str]] = typer.Option(None, "--param", "-p", help="Restorer parameter key=value "
                                              "(repeatable), e.g. -p method=lanczos, -p version=1.3, -p pad=0.1."),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Job directory (default: the cache, "
                                           "keyed by data + restorer + parameters + weights hash). Re-running "
                                           "resumes; a directory holding another job is refused."),
    size: Optional[int] = typer.Option(None, "--size", help="Output side in px (default: the input size)."),
    channels: Optional[int] = typer.Option(None, "--channels", help="1 (gray) or 3 (RGB); default: the "
                                           "restorer's own (gray stays gray, face restorers give RGB)."),
    split: Optional[list[str]] = SplitOpt,
    limit: Optional[int] = LimitOpt,
    on_bad: OnBad = OnBadOpt,
    workers: int = WorkersOpt,
    executor: str = ExecutorOpt,
    shard_size: int = typer.Option(512, "--shard-size", help="Images per shard (capped at 256 MB of output)."),
    quiet: bool = QuietOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON to stdout."),
) -> None:
    """Restore every face of DATA: sharded, cached, resumable after kill -9, per-image cost in job.json."""
    from ..restore import restore_dataset

    ds = load(data, split, on_bad, limit=limit)
    params = _params(param)
    if download:
        params["download"] = True
    try:
        result = restore_dataset(ds, restorer, params, weights, out_dir, workers, executor, size, channels,
                                 shard_size, progress=not quiet)
    except _ERRORS as exc:
        fail(str(exc), code=2)
    _print_summary(_summary(result, "restore"), as_json)


def degrade_command(
    data: Path = typer.Argument(..., exists=True, help="FER-2013 CSV (.csv/.csv.gz) or image folder."),
    degradation: str = typer.Option(..., "--degradation", "-d", help="gaussian_blur, gaussian_noise, jpeg, "
                                    "downscale, low_contrast, low_brightness, occlusion (ferbench restore-list)."),
    severity: int = typer.Option(..., "--severity", min=0, max=5, help="1 (mild) to 5 (strong); 0 = none."),
    seed: int = typer.Option(0, help="Seed: the same seed, severity and image give the same bytes."),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Job directory (default: the cache)."),
    split: Optional[list[str]] = SplitOpt,
    limit: Optional[int] = LimitOpt,
    on_bad: OnBad = OnBadOpt,
    workers: int = WorkersOpt,
    executor: str = ExecutorOpt,
    quiet: bool = QuietOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON to stdout."),
) -> None:
    """Degrade every face of DATA (ImageNet-C style severities; see restore-list), written like restore."""
    from ..degrade import degrade_dataset

    ds = load(data, split, on_bad, limit=limit)
    try:
        result = degrade_dataset(ds, degradation, severity, seed, out_dir, workers, executor, progress=not quiet,
                                 in_memory=False)
    except _ERRORS as exc:
        fail(str(exc), code=2)
    _print_summary(_summary(result, "degrade"), as_json)


def _print_summary(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(summary)
        return
    cost, run = summary["cost"] or {}, summary["this_run"]
    out.print(f"{summary['n']:,} images -> {summary['job_dir']}")
    out.print(f"  shards computed {run['shards_computed']}, reused {run['shards_reused']}; "
              f"{cost.get('s_per_image', float('nan')):.4g} s/image (worker time), "
              f"{run['images_per_s'] or float('nan'):.4g} images/s this run")


def _spec(text: str) -> tuple[str, dict[str, Any]]:
    """``name`` or ``name:key=value,key=value`` (values read as YAML scalars)."""
    name, _, rest = text.partition(":")
    return name.strip(), _params([p for p in rest.split(",") if p.strip()])


def quality_command(
    data: Path = typer.Argument(..., exists=True, help="FER-2013 CSV (.csv/.csv.gz) or image folder."),
    restorer: list[str] = typer.Option(..., "--restorer", "-r", help="Restorer to compare (repeatable): NAME or "
                                       "NAME:key=value,... e.g. -r identity -r opencv_sr:weights=ESPCN_x4.pb"),
    degradation: Optional[str] = typer.Option(None, "--degradation", "-d", help="Degrade first, so PSNR/SSIM "
                                              "compare each restoration with the original."),
    severity: int = typer.Option(3, "--severity", min=1, max=5, help="Degradation severity."),
    seed: int = typer.Option(0, help="Degradation seed."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Classifier for the label-flip check "
                                        "(a registered model name; ferbench models list)."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", "--model-weights", help="Its checkpoint."),
    grid: Optional[Path] = typer.Option(None, "--grid", help="Write a sample grid PNG: original | degraded | "
                                        "each restorer."),
    grid_rows: int = typer.Option(8, "--grid-rows", help="Samples (rows) in the grid."),
    split: Optional[list[str]] = SplitOpt,
    limit: Optional[int] = typer.Option(500, "--limit", help="First N samples (restoration can be slow)."),
    on_bad: OnBad = OnBadOpt,
    workers: int = WorkersOpt,
    executor: str = ExecutorOpt,
    json_path: Optional[Path] = typer.Option(None, "--json", help="Also write the results to this JSON file."),
    quiet: bool = QuietOpt,
) -> None:
    """PSNR/SSIM against the original (with --degradation), label flips with a fixed classifier (with --model),
    and a sample grid (with --grid), for one or more restorers."""
    from ..models import load_predictor
    from ..restore.compare import restoration_quality

    original = load(data, split, on_bad, limit=limit)
    try:
        predictor = load_predictor(model, checkpoint) if (model or checkpoint) else None
        report = restoration_quality(original, [_spec(text) for text in restorer], degradation, severity, seed,
                                     predictor, workers=workers, executor=executor, progress=not quiet, grid=grid,
                                     grid_rows=grid_rows, data=str(data))
    except _ERRORS as exc:
        fail(str(exc), code=2)
    if grid:
        console.print(f"wrote {grid}")
    if json_path:
        emit_json(report, json_path)
    _print_quality(report)


def _print_quality(report: dict[str, Any]) -> None:
    table = Table(title=f"restoration quality, n={report['n']:,}"
                  + (" (label flips: restored vs its input)" if report["model"] else ""))
    for col in ("variant", "psnr_db_mean", "ssim_mean", "flip_rate", "accuracy_after"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for label, row in report["variants"].items():
        q, f = row.get("vs_original", {}), row.get("label_flips", {})
        values = (q.get("psnr_db_mean"), q.get("ssim_mean"), f.get("flip_rate"), f.get("accuracy_after"))
        table.add_row(label, *(f"{v:.4g}" if isinstance(v, float) else "-" for v in values))
    out.print(table)


def list_command(as_json: bool = typer.Option(False, "--json", help="Print JSON to stdout.")) -> None:
    """Registered restorers (with the channels they output) and degradations (with their severity tables)."""
    from ..degrade.registry import severity_table
    from ..restore.registry import RESTORERS

    restorers = [{"name": e.name, "output": e.meta.get("output"), "description": e.description}
                 for e in RESTORERS.entries()]
    degradations = severity_table()
    if as_json:
        emit_json({"restorers": restorers, "degradations": degradations})
        return
    t = Table(title="restorers (output: 'input' keeps gray gray; 'rgb' gives 3 channels)")
    for col in ("name", "output", "description"):
        t.add_column(col)
    for r in restorers:
        t.add_row(r["name"], r["output"], r["description"])
    out.print(t)
    t = Table(title="degradations (severity 1..5)")
    for col in ("name", "unit", "1", "2", "3", "4", "5"):
        t.add_column(col)
    for name, d in degradations.items():
        t.add_row(name, d["unit"], *(f"{v:g}" for v in d["levels"].values()))
    out.print(t)
