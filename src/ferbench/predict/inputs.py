"""``predict``'s input files and where their annotated copies go, checked before any work is done.

Annotated copies mirror the inputs' paths relative to the deepest folder that holds every input, so
``a/photo.png`` and ``b/photo.png`` become ``OUT/a/photo.png`` and ``OUT/b/photo.png``. A copy never
replaces an input file and two copies never share a path: such a plan is refused as a whole.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..data.errors import DataError
from ..data.images import IMAGE_SUFFIXES

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}


def collect_inputs(inputs: list[Path]) -> list[Path]:
    """Files to analyse: given files as they are, folders searched recursively for images and videos. A folder
    with none, or no input at all, is a :class:`DataError` (never a silent run over nothing)."""
    files: list[Path] = []
    wanted = IMAGE_SUFFIXES | VIDEO_SUFFIXES
    for p in inputs:
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in wanted)
            if not found:
                raise DataError(p, f"no images or videos in this folder (looked for "
                                   f"{', '.join(sorted(wanted))})")
            files += found
        else:
            files.append(p)
    if not files:
        raise DataError("predict", "no input files")
    seen: set[Path] = set()
    return [f for f in files if not (f.resolve() in seen or seen.add(f.resolve()))]  # once each


class AnnotationPlan:
    """Output path of each input's annotated copy (and of each analysed video frame) under ``out_dir``."""

    def __init__(self, files: list[Path], out_dir: Path):
        self.out_dir = Path(out_dir)
        self.inputs = {f.resolve() for f in files}
        base = Path(os.path.commonpath([str(f.resolve().parent) for f in files]))
        self.relative = {f: f.resolve().relative_to(base) for f in files}
        self.written: set[Path] = set()
        planned: dict[Path, Path] = {}
        for f in files:
            target = self.target(f).resolve()
            self._check(target, f)
            if target in planned:
                raise DataError(target, f"annotated copies of {planned[target]} and {f} would collide")
            planned[target] = f

    def target(self, path: Path, frame: int | None = None) -> Path:
        """The copy's path: the input's relative path under ``out_dir``; video frames as ``NAME-f000123.png``."""
        rel = self.relative[path]
        name = f"{rel.stem}-f{frame:06d}.png" if frame is not None else rel.name
        return self.out_dir / rel.parent / name

    def _check(self, target: Path, source: Path) -> None:
        if target in self.inputs:
            raise DataError(target, f"the annotated copy of {source} would overwrite an input file; choose an "
                                    "--annotate folder outside the inputs")

    def claim(self, path: Path, frame: int | None = None) -> Path:
        """The path to write now; refuses one that is an input or already written in this run."""
        target = self.target(path, frame)
        resolved = target.resolve()
        self._check(resolved, path)
        if resolved in self.written:
            raise DataError(target, f"annotated copy of {path} would overwrite another copy written in this run")
        self.written.add(resolved)
        return target
