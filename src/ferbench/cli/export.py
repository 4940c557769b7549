"""``ferbench export``: a CNN-family model as an ONNX file (float or int8), checked before it is written."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import console, emit_json, fail
from .evaluate import parse_options


def export_command(
    output: Path = typer.Option(..., "--output", "-o", help="The .onnx file to write (its checks go to "
                                "OUTPUT.json beside it)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model name (fernet, mini_xception_64, "
                                        "big_xception, resnet50...); ensembles: export each member."),
    weights: Optional[Path] = typer.Option(None, "--weights", "--checkpoint", "-w", help="Weights for --model "
                                           "(default: its packaged ones)."),
    data: Optional[Path] = typer.Option(None, "--data", "-d", help="FER-2013 CSV or image folder: parity is "
                                        "checked on its Training faces (random images without it); --int8 "
                                        "calibrates on Training and measures accuracy on PublicTest."),
    int8: bool = typer.Option(False, "--int8", help="Write a static int8 model (needs --data)."),
    max_drop: float = typer.Option(0.5, help="--int8: refuse (exit 2) if PublicTest accuracy drops by more "
                                   "than this many points vs float."),
    max_diff: float = typer.Option(1e-3, help="Refuse (exit 2) if ONNX and torch probabilities differ by more."),
    tta: str = typer.Option("none", help="Test-time augmentation built into the graph: none, flip, tencrop."),
    option: Optional[list[str]] = typer.Option(None, "--option", help="Model option key=value (repeatable)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing output (never an input)."),
    seed: int = typer.Option(0, help="Seed for choosing the parity and calibration faces."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Export a model to ONNX after a parity check against PyTorch; optionally quantize it to int8."""
    from ..data.errors import DataError
    from ..models.deploy import ExportRefused, export_model

    options = parse_options(option)
    if tta != "none":
        options["tta"] = tta
    try:
        report = export_model(model, weights, output, data=data, int8=int8, max_drop=max_drop, max_diff=max_diff,
                              force=force, seed=seed, **options)
    except (ExportRefused, DataError, FileNotFoundError, ValueError, KeyError, ImportError) as exc:
        fail(str(exc), code=2)
    if as_json:
        emit_json(report)
    par = report["parity_torch_vs_onnx"]
    console.print(f"parity torch vs ONNX on {par['n']} {par['inputs']}: max |softmax diff| "
                  f"{par['max_abs_softmax_diff']:.2e}, same label {par['argmax_agreement']:.2%}")
    if "int8" in report:
        q = report["int8"]
        console.print(f"int8 on {q['n_eval']} PublicTest faces: {100 * q['accuracy_float']:.2f}% float -> "
                      f"{100 * q['accuracy_int8']:.2f}% int8 ({-q['drop_points']:+.2f} points), same label "
                      f"{q['label_agreement']:.2%}; calibrated on {q['n_calibration']} Training faces")
    console.print(f"wrote {output} and {output.name}.json")
