"""``ferbench run STUDY``: run every cell of a study (resumable), then ``ferbench report RESULTS``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .common import console, fail, out


def run_command(
    study: str = typer.Argument(..., help="A study YAML file, or a built-in study: quick (a few minutes on a "
                                "CPU) or paper (the article's design; runs what the available weights allow)."),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Results folder [results/<study name>]. "
                                           "Re-running into it skips finished cells."),
    workers: int = typer.Option(1, help="Cells run in parallel (local processes, or Ray workers)."),
    executor: str = typer.Option("local", help="local, or ray (a local Ray instance, or the cluster of RAY_ADDRESS)."),
    only: Optional[str] = typer.Option(None, help="Run only cells whose id contains this text."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the cells and what is missing, run nothing."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    trust_remote_code: bool = typer.Option(False, "--trust-remote-code", help="Let models whose study options "
                                           "ask for it run code shipped with their weights (paper: Phi-3.5-Vision)."),
) -> None:
    """Run a study: datasets × degradations × restorers × models, into one results folder."""
    from pydantic import ValidationError

    from ..study.runner import check_missing, run_study
    from ..study.spec import StudySpec, cells
    from ..data.errors import DataError
    from ..utils.locks import Busy

    try:
        spec = StudySpec.load(study)
        all_cells = cells(spec)
    except FileNotFoundError:
        fail(f"{study}: no such study file (built-in studies: quick, paper)", code=2)
    except (ValidationError, ValueError) as exc:
        fail(f"{study}: invalid study:\n{exc}", code=2)
    results = out_dir or Path("results") / spec.name
    if dry_run:
        for c in all_cells:
            out.print(c.id)
        for what, why in check_missing(spec, trust_remote_code).items():
            out.print(f"[yellow]missing[/] {what}: {why}")
        return
    try:
        status = run_study(spec, results, workers=workers, executor=executor, only=only, progress=not quiet,
                           say=lambda m: console.print(m, highlight=False), trust_remote_code=trust_remote_code)
    except (FileNotFoundError, Busy, DataError) as exc:  # DataError: e.g. split: auto on a Training-only file
        fail(str(exc), code=2)
    summary(status, results)


def summary(status: dict, results: Path) -> None:
    table = Table(title=f"cells in {results}")
    for col in ("cell", "status", "accuracy", "note"):
        table.add_column(col, overflow="fold")
    for cell_id, s in sorted(status.items()):
        acc = f"{s['accuracy']:.2%}" if "accuracy" in s else ""
        table.add_row(cell_id, s["status"], acc, s.get("reason") or s.get("error") or "")
    out.print(table)
    from ..study.runner import describe_plan

    counts = {k: sum(1 for s in status.values() if s["status"] == k) for k in ("finished", "skipped", "failed")}
    plans = {c: (s["origin"], s.get("changed", [])) for c, s in status.items() if s.get("origin")}
    out.print(f"{counts['finished']} finished ({describe_plan(plans)}), {counts['skipped']} skipped (missing weights), "
              f"{counts['failed']} failed. Next: ferbench report {results}")
    if counts["failed"]:
        raise typer.Exit(1)
