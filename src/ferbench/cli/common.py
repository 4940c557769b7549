"""Options and helpers shared by the CLI commands (imports stay light: no torch at start-up)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn, Optional

import typer
from rich.console import Console

from ..data.errors import DataError, OnBad
from ..utils.io import to_json

console = Console(stderr=True, soft_wrap=True)  # messages to stderr (stdout stays clean for --json); no hard wraps
out = Console()

OnBadOpt = typer.Option(OnBad.error, "--on-bad", help="Bad rows/files: 'error' stops with a message naming "
                        "the file, row and problem; 'skip' leaves them out and reports their count and ids.")
SplitOpt = typer.Option(None, "--split", "-s", help="Keep only these splits (repeatable): Training, PublicTest, "
                        "PrivateTest (aliases: train, val, test...).")
FerplusOpt = typer.Option(None, "--ferplus", help="fer2013new.csv: replace labels by FER+ crowd labels.",
                          exists=True, dir_okay=False)
SizeOpt = typer.Option(None, "--size", help="Image folders only: resize every image to SIZE×SIZE.")
LimitOpt = typer.Option(None, "--limit", min=1, help="Keep the first N samples (after --split), for quick runs.")
BackendOpt = typer.Option("torch", "--backend", help="Inference engine for CNN-family models: torch (float32), "
                          "torch-bf16 (bfloat16 autocast: several times faster on CPUs with AVX-512 BF16 or AMX, "
                          "slower elsewhere), onnxruntime, openvino or openvino-bf16 (exported in memory; "
                          "`ferbench export` writes a file, int8 too, that each runs with --model onnx --weights "
                          "FILE).")


def fail(message: str, code: int = 1) -> NoReturn:
    from rich.markup import escape

    # escaped: messages quote file names and JSON, whose [brackets] rich would take for markup and drop
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def load(path: Path, split: Optional[list[str]] = None, on_bad: OnBad = OnBad.error, ferplus: Optional[Path] = None,
         label_mode: str = "majority", size: Optional[int] = None, limit: Optional[int] = None):
    """Load a dataset for a command, turning bad input into a clean one-line error (exit code 2)."""
    from ..data import load_dataset

    try:
        ds = load_dataset(path, split=split or None, on_bad=on_bad, ferplus=ferplus, label_mode=label_mode,
                          size=size, limit=limit)
    except (DataError, ValueError, KeyError) as exc:
        fail(str(exc), code=2)
    skipped = ds.report.get("skipped")
    if skipped:
        ids = ", ".join(skipped["ids"][:10]) + (" ..." if skipped["count"] > 10 else "")
        console.print(f"[yellow]skipped {skipped['count']} bad item(s)[/] {skipped['by_problem']}: {ids}")
    return ds


def load_model(model: Optional[str], weights: Optional[Path], /, **options: Any):
    """A ready predictor (the packaged default when neither is given), or a clean error (exit code 2)."""
    from ..models import load_predictor

    try:
        return load_predictor(model, weights, **options)
    except (FileNotFoundError, ValueError, KeyError, ImportError) as exc:
        fail(str(exc), code=2)


def emit_json(obj: Any, path: Optional[Path] = None) -> None:
    if path is None:
        sys.stdout.write(to_json(obj, indent=2) + "\n")
    else:
        from ..utils.io import write_json

        write_json(path, obj)
        console.print(f"wrote {path}")


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        fail(f"{path}: cannot read JSON: {exc}", code=2)
