"""``ferbench teacher-targets``: a teacher model's probabilities on the training rows, for distillation."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import console, fail, load, load_model, out


def teacher_command(
    data: Path = typer.Option(..., "--data", "-d", exists=True, help="FER-2013 CSV or image folder."),
    out_path: Path = typer.Option(..., "--out", "-o", help="New .safetensors file (never replaces one)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Teacher: a registered model "
                                        "[fernet_ensemble, the most accurate packaged one, whatever the default]."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", "--weights", "-w", help="Teacher weights."),
    split: str = typer.Option("Training", "--split", "-s", help="Training rows only (evaluation splits are refused)."),
    tta: str = typer.Option("none", help="flip or tencrop; none keeps the model's own."),
    threads: Optional[int] = typer.Option(None, help="Torch CPU threads."),
) -> None:
    """Write a teacher's probabilities on the training rows, keyed by data hash and row id, for `targets.teacher`
    in a training config (knowledge distillation)."""
    import torch

    from ..train.targets import write_teacher_probs

    if threads:
        torch.set_num_threads(threads)
    ds = load(data)
    teacher = model or (None if checkpoint else "fernet_ensemble")
    predictor = load_model(teacher, checkpoint, **({"tta": tta} if tta != "none" else {}))
    console.print(f"teacher [bold]{predictor.name}[/] on {data} ({split}) -> {out_path}")

    def show(done: int, total: int) -> None:
        console.print(f"  {done:,}/{total:,}", end="\r")

    try:
        path = write_teacher_probs(lambda im: predictor.predict(im).proba, ds, split, out_path,
                                   describe=predictor.describe(), progress=show)
    except (ValueError, FileExistsError) as exc:
        fail(str(exc), code=2)
    out.print(f"teacher probabilities: {path}")
