"""``ferbench predict``: expressions of the faces in images, folders and videos."""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from ..emotions import EMOTIONS
from .common import BackendOpt, console, fail, load_model, out


def predict_command(
    inputs: list[Path] = typer.Argument(..., exists=True, help="Image files, folders (searched recursively) "
                                        "or videos."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model name (default: the packaged "
                                        "fernet_kd2; fernet_robust2 for noisy, compressed, low-resolution or "
                                        "blurred faces)."),
    weights: Optional[Path] = typer.Option(None, "--weights", "--checkpoint", "-w", help="Weights for --model."),
    as_json: bool = typer.Option(False, "--json", help="JSON lines to stdout: per image (or video frame) its "
                                 "faces, each with box [x, y, w, h], label and probabilities by emotion."),
    as_csv: bool = typer.Option(False, "--csv", help="CSV to stdout: one row per face."),
    annotate_dir: Optional[Path] = typer.Option(None, "--annotate", help="Write annotated copies (boxes and "
                                                "labels) into this folder."),
    detect: str = typer.Option("auto", help="Face detection: auto (images up to 96 px are taken as face crops), "
                               "always, or never (classify the whole image)."),
    margin: float = typer.Option(0.0, help="Grow each face box by this fraction of its size on every side."),
    min_face: int = typer.Option(24, min=1, help="Minimum face size in pixels: smaller detected faces are "
                                 "ignored, and whole images (face crops) smaller than this on either side are "
                                 "refused as too small to read an expression, never given one."),
    every: float = typer.Option(1.0, help="Videos: analyse one frame every this many seconds."),
    tta: str = typer.Option("none", help="Test-time augmentation for CNNs: flip or tencrop; none keeps "
                            "the model's own (tencrop inside fernet_ensemble, none otherwise)."),
    backend: str = BackendOpt,
    detector: str = typer.Option("auto", help="Face detector: mtcnn (five landmarks; faces are aligned), haar "
                                 "(OpenCV cascade, frontal faces), or auto: mtcnn when facenet-pytorch is "
                                 "installed (it found more faces in benchmarks/detectors.py), else haar."),
    smooth: bool = typer.Option(False, "--smooth", help="Videos: follow each face across frames and give it a "
                                "steady label (probabilities averaged over frames); the frame's own label is "
                                "kept as frame_label."),
) -> None:
    """Find faces (MTCNN with alignment, or OpenCV's Haar cascade), classify each expression, print a table,
    JSON or CSV. Videos also report frames analysed per second.

    Exit code 2 when no input could be read (or a folder holds no images). Annotated copies mirror the
    inputs' relative paths under --annotate; a copy that would replace an input or another copy is refused."""
    from ..data.errors import DataError
    from ..predict.inputs import AnnotationPlan, collect_inputs
    from ..predict.detectors import resolve_detector
    from ..predict.pipeline import analyse, annotate, frames
    from ..predict.inputs import VIDEO_SUFFIXES
    from ..predict.track import FaceTracker

    if as_json and as_csv:
        fail("choose one of --json and --csv", code=2)
    if detect not in ("auto", "always", "never"):
        fail(f"--detect {detect!r}: expected auto, always or never", code=2)
    try:
        detector, notice = resolve_detector(detector)
        files = collect_inputs(inputs)
        plan = AnnotationPlan(files, annotate_dir) if annotate_dir else None
    except (DataError, ValueError) as exc:
        fail(str(exc), code=2)
    if notice:
        console.print(f"[yellow]{notice}[/]")
    predictor = load_model(model, weights, backend=backend, **({"tta": tta} if tta != "none" else {}))
    writer = None
    if as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(["path", "frame", "face", "x", "y", "w", "h", "label", *[f"p_{e}" for e in EMOTIONS]])
    table = Table(title=f"expressions ({predictor.name})")
    for col in ("image", "face", "box", "label", "confidence"):
        table.add_column(col)
    n_images = n_faces = n_errors = 0
    for path in files:
        tracker = FaceTracker() if smooth else None
        is_video, n_frames, started = path.suffix.lower() in VIDEO_SUFFIXES, 0, time.perf_counter()
        for frame in frames(path, every):
            frame = analyse(frame, predictor, detect=detect, margin=margin, min_face=min_face, detector=detector)
            if tracker is not None and frame.frame is not None:
                tracker.update(frame.faces)
            n_frames += 1
            n_images += 1
            n_errors += bool(frame.error)
            n_faces += len(frame.faces)
            if plan and frame.faces:
                try:
                    annotate(frame, plan.claim(path, frame.frame))
                except DataError as exc:
                    fail(str(exc), code=2)
            name = str(path) + (f"@{frame.time_s:.1f}s" if frame.frame is not None else "")
            if as_json:
                sys.stdout.write(json.dumps(frame.record()) + "\n")
            elif writer:
                for k, f in enumerate(frame.faces):
                    writer.writerow([str(path), "" if frame.frame is None else frame.frame, k, *f["box"], f["label"],
                                     *[f["probabilities"][e] for e in EMOTIONS]])
            else:
                if frame.error or not frame.faces:
                    table.add_row(name, "-", "-", frame.error or frame.message or "", "")
                for k, f in enumerate(frame.faces):
                    table.add_row(name, str(k), " ".join(map(str, f["box"])), f["label"] or "?",
                                  f"{f['probabilities'].get(f['label'], 0):.0%}" if f["label"] else "")
            if frame.error:
                console.print(f"[yellow]{path}[/]: {frame.error}")
            elif not frame.faces:
                console.print(f"[yellow]{name}[/]: no face found (try --detect never for face crops, or --min-face)")
        if is_video and n_frames:
            seconds = time.perf_counter() - started
            console.print(f"{path}: {n_frames} frame(s) analysed in {seconds:.1f} s ({n_frames / seconds:.1f} frames/s, "
                          f"detector {detector})")
    if not (as_json or as_csv):
        out.print(table)
    console.print(f"{n_faces} face(s) in {n_images} image(s)/frame(s)" + (f", {n_errors} refused or unreadable"
                                                                            if n_errors else ""))
    if n_errors == n_images:
        fail(f"no input could be read ({n_images} refused or unreadable)", code=2)
