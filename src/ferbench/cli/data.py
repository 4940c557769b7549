"""``ferbench data ...``: inspect and audit datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ..data.errors import OnBad
from .common import FerplusOpt, LimitOpt, OnBadOpt, SizeOpt, SplitOpt, console, emit_json, load, out

app = typer.Typer(help="Inspect datasets: counts, sizes, hashes, duplicates and train/test leakage.",
                  no_args_is_help=True)


@app.command()
def info(
    path: Path = typer.Argument(..., help="FER-2013 CSV (.csv/.csv.gz) or image folder."),
    split: Optional[list[str]] = SplitOpt,
    ferplus: Optional[Path] = FerplusOpt,
    label_mode: str = typer.Option("majority", help="FER+ labels: majority, plurality or soft."),
    size: Optional[int] = SizeOpt,
    on_bad: OnBad = OnBadOpt,
    as_json: bool = typer.Option(False, "--json", help="Print JSON to stdout (for scripts)."),
) -> None:
    """Counts per split × class, image size and mode, content hash."""
    ds = load(path, split, on_bad, ferplus, label_mode, size)
    info = {"source": ds.source, "name": ds.name, "source_sha256": ds.source_hash, "fingerprint": ds.fingerprint,
            "n": len(ds), "image_size": list(ds.image_size), "mode": ds.mode, "classes": list(ds.classes),
            "counts": ds.counts(), "report": ds.report}
    if as_json:
        emit_json(info)
        return
    table = Table(title=f"{ds.name}: {len(ds):,} images, {ds.image_size[0]}×{ds.image_size[1]} {ds.mode}")
    table.add_column("split")
    for c in ds.classes:
        table.add_column(c, justify="right")
    table.add_column("total", justify="right", style="bold")
    for split_name, row in ds.counts().items():
        table.add_row(split_name, *[f"{row[c]:,}" for c in ds.classes], f"{sum(row.values()):,}")
    out.print(table)
    out.print(f"source  {ds.source}\nsha256  {ds.source_hash}")
    for key, value in ds.report.items():
        if key not in ("rows", "files"):
            out.print(f"{key}  {value}")


@app.command()
def audit(
    path: Path = typer.Argument(..., help="FER-2013 CSV (.csv/.csv.gz) or image folder."),
    threshold: int = typer.Option(6, help="Near duplicates: maximum Hamming distance of 64-bit perceptual "
                                  "hashes (0 = exact only). 6 was checked by eye on FER-2013; 8 mixes in "
                                  "different people."),
    as_json: bool = typer.Option(False, "--json", help="Print the full JSON report to stdout."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the full JSON report to this file."),
    write_clean_split: Optional[Path] = typer.Option(
        None, help="Write the ids of the de-duplicated test split(s) to this JSON file, for "
        "`ferbench eval --exclude-leaked FILE`."),
    on_bad: OnBad = OnBadOpt,
    size: Optional[int] = SizeOpt,
    limit: Optional[int] = LimitOpt,
) -> None:
    """Exact and near duplicates, conflicting labels, and groups that cross splits (leakage)."""
    from ..data.audit import audit as run_audit, clean_split

    ds = load(path, None, on_bad, None, "majority", size, limit)
    with console.status(f"auditing {len(ds):,} images (pixel hashes, perceptual hashes, pairwise distances)"):
        report = run_audit(ds, threshold=threshold)
    if output:
        emit_json(report, output)
    if write_clean_split:
        emit_json(clean_split(ds, report), write_clean_split)
    if as_json:
        emit_json(report)
        return
    _print_summary(report)


def _print_summary(r: dict) -> None:
    table = Table(title=f"Duplicate audit of {r['source']} ({r['n']:,} images)")
    table.add_column("")
    table.add_column("exact (same pixels)", justify="right")
    table.add_column(f"near (phash ≤ {r['near']['max_hamming']})", justify="right")
    e, n = r["exact"], r["near"]
    table.add_row("duplicate groups", f"{e['groups']:,}", f"{n['groups']:,}")
    table.add_row("rows in them", f"{e['rows']:,}", f"{n['rows']:,}")
    table.add_row("groups with conflicting labels", f"{e['conflicting_label_groups']:,}",
                  f"{n['conflicting_label_groups']:,}")
    for key in sorted(set(e["cross_split_groups"]) | set(n["cross_split_groups"])):
        table.add_row(f"groups across {key}", f"{e['cross_split_groups'].get(key, 0):,}",
                      f"{n['cross_split_groups'].get(key, 0):,}")
    for key in sorted(set(e["test_rows_with_training_twin"]) | set(n["test_rows_with_training_twin"])):
        table.add_row(f"{key} rows with a Training twin", f"{e['test_rows_with_training_twin'].get(key, 0):,}",
                      f"{n['test_rows_with_training_twin'].get(key, 0):,}")
    out.print(table)
    out.print(f"near-constant (blank) images: {r['blank']['rows']} ({r['blank']['rule']})")
    for split, ids in r["leaked_ids"].items():
        total = r["splits"].get(split, 0)
        share = f" ({len(ids) / total:.1%} of {total:,})" if total else ""
        out.print(f"leaked {split} rows (exact or near twin in an earlier split): {len(ids):,}{share}")
