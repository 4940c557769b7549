"""``ferbench report``: render the runs under a results folder as HTML + Markdown."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import console, fail


def report_command(
    results: Path = typer.Argument(..., exists=True, file_okay=False,
                                   help="Folder holding ferbench run directories (searched recursively), e.g. a "
                                   "study's results folder with runs/, audit.json and artifacts/."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Where to write report.html, report.md and "
                                       "figures/ (default: RESULTS/report)."),
    title: Optional[str] = typer.Option(None, "--title", help="Page title (default: named after RESULTS)."),
    max_samples: int = typer.Option(24, help="Restoration sample grids (artifacts/**/*.png) shown at most."),
    n_boot: int = typer.Option(200, help="Paired-bootstrap resamples behind the significance tooltips."),
    write_store: bool = typer.Option(False, "--write-store", help="Also write RESULTS/store.parquet: every run "
                                     "as one row, for pandas or DuckDB."),
) -> None:
    """Write a self-contained HTML page and a Markdown file: main table with 95% CIs and per-phase cost,
    per-class F1, confusion matrices, accuracy-vs-cost Pareto plot, robustness curves, restoration samples,
    McNemar significance matrix, leakage section and the paper's claimed figures (labelled as claims)."""
    from ..report import build_store, write_report

    with console.status("report") as status:
        try:
            paths = write_report(results, out, title=title, max_samples=max_samples, n_boot=n_boot,
                                 step=lambda msg: status.update(f"report: {msg}"))
            store = build_store(results) if write_store else None
        except (FileNotFoundError, ValueError, KeyError) as exc:
            fail(f"{results}: {exc}", code=2)
    console.print(f"wrote {paths['html']}\nwrote {paths['markdown']} (figures in {paths['figures']})")
    if store:
        console.print(f"wrote {store}")
