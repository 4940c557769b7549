"""``ferbench models ...``: list registered models (more sub-commands land with their families)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .common import emit_json, fail, out

app = typer.Typer(help="List, import and inspect models.", no_args_is_help=True)


@app.command("list")
def list_command(family: Optional[str] = typer.Option(None, help="Only this family (cnn, keras, clip, vlm...)."),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """Registered models with their family and a one-line description."""
    from ..models.registry import MODELS

    entries = MODELS.entries(**({"family": family} if family else {}))
    if as_json:
        emit_json([{"name": e.name, "family": e.meta.get("family"), "description": e.description} for e in entries])
        return
    table = Table(title="ferbench models")
    for col in ("name", "family", "description"):
        table.add_column(col)
    for e in entries:
        table.add_row(e.name, str(e.meta.get("family")), e.description)
    out.print(table)


@app.command("import-keras")
def import_keras_command(
    source: Path = typer.Argument(..., exists=True, dir_okay=False, help="Keras full-model HDF5 (model.save): "
                                  "architecture JSON + weights, e.g. fer2013_mini_XCEPTION.102-0.66.hdf5."),
    out_path: Path = typer.Option(..., "--out", "-o", help="Output .safetensors; its .json config is written "
                                  "beside it."),
    check: int = typer.Option(32, "--check", help="Synthetic faces for the parity check against an independent "
                              "NumPy forward pass of the HDF5 (0 skips it)."),
    tolerance: float = typer.Option(1e-5, help="Largest allowed |softmax difference| in the parity check."),
) -> None:
    """Convert a Keras HDF5 FER classifier to a ferbench checkpoint (no TensorFlow needed), recording its
    preprocessing, label order and provenance; refuses to write it if the parity check fails."""
    from ..models.checkpoint import save_checkpoint
    from ..models.keras.convert import import_keras
    from ..models.keras.hdf5 import KerasImportError
    from ..models.keras.reference import parity, probe_faces
    from ..models.torch_predictor import TorchPredictor

    try:
        module, config, kf = import_keras(source)
    except KerasImportError as exc:
        fail(str(exc), code=2)
    if check > 0:
        result = parity(kf, TorchPredictor(module, config, device="cpu"), probe_faces(check))
        config.provenance["parity"] = {**result, "images": "synthetic (ferbench.models.keras.reference.probe_faces)"}
        if not result["max_abs_softmax_diff"] <= tolerance:
            fail(f"{source}: converted model differs from the NumPy reference by {result['max_abs_softmax_diff']:.3g} "
                 f"> {tolerance:g} (softmax); not written")
    path = save_checkpoint(module, config, out_path)
    pre = config.preprocess
    out.print(f"{source.name} -> {path} ({config.arch}, {pre.input_size}×{pre.input_size}×{pre.in_chans}, "
              f"{sum(p.numel() for p in module.parameters()):,} parameters)")
    if check > 0:
        out.print(f"parity on {check} synthetic faces: max |softmax diff| "
                  f"{config.provenance['parity']['max_abs_softmax_diff']:.2e}")
