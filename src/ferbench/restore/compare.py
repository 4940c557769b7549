"""Restorers compared on one dataset (``ferbench restore-quality``): PSNR/SSIM against the original (after a
degradation), label flips with a fixed classifier, and a sample grid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..data.dataset import Dataset
from ..degrade.stage import degrade_dataset
from .grid import sample_grid
from .quality import image_quality, label_flips, predict_all
from .stage import restore_dataset


def variant_label(name: str, params: dict[str, Any]) -> str:
    """A short column label: file paths shown by their name (``opencv_sr weights=ESPCN_x4.pb``)."""
    shown = [f"{k}={Path(v).name if isinstance(v, str) and '/' in v else v}" for k, v in params.items()]
    return " ".join([name, *shown])


def restoration_quality(original: Dataset, restorers: list[tuple[str, dict[str, Any]]],
                        degradation: str | None = None, severity: int = 3, seed: int = 0, predictor: Any = None,
                        workers: int = 1, executor: str = "local", progress: bool = False,
                        grid: str | Path | None = None, grid_rows: int = 8, data: str | None = None) -> dict[str, Any]:
    """The report of ``ferbench restore-quality``: for the degraded input (with ``degradation``) and each
    restorer ``(name, params)``, PSNR/SSIM against ``original`` (with ``degradation``) and label flips of
    ``predictor`` (restored vs its input); ``grid`` also writes a sample grid PNG there."""
    source = degrade_dataset(original, degradation, severity, seed) if degradation else original
    restored: dict[str, Dataset] = {}
    for name, params in restorers:
        label = variant_label(name, params)
        label = label if label not in restored else f"{label}#{len(restored)}"
        restored[label] = restore_dataset(source, name, params, workers=workers, executor=executor, progress=progress)
    degraded_label = f"{degradation}@{severity}"
    variants = ({degraded_label: source} if degradation else {}) | restored
    preds = {"original": predict_all(predictor, original.images)} if predictor else {}
    results: dict[str, Any] = {}
    for label, ds in variants.items():
        row: dict[str, Any] = {}
        if degradation:
            row["vs_original"] = image_quality(original.images, ds.images)
        if predictor:
            preds[label] = predict_all(predictor, ds.images)
            before = preds["original"] if label not in restored else preds.get(degraded_label, preds["original"])
            row["label_flips"] = label_flips(before, preds[label], original.labels)
        results[label] = row
    report = {"data": data, "n": len(original), "degradation": {"name": degradation, "severity": severity,
              "seed": seed} if degradation else None, "model": predictor.describe() if predictor else None,
              "variants": results}
    if grid:
        columns = {"original": original.images} | ({degraded_label: source.images} if degradation
                                                   else {}) | {k: v.images for k, v in restored.items()}
        sample_grid(columns, grid, rows=grid_rows)
        report["grid"] = str(grid)
    return report
