"""Reader for image folders: ``ROOT/<split>/<class>/*.png`` (the image version of FER-2013: train/, test/)
or ``ROOT/<class>/*.png``. Images must sit directly in their class folder: files in a sub-folder of a class
folder are bad items (their label would be a guess), reported by ``--on-bad``. Pixels are decoded by
:func:`ferbench.data.images.decode_image` (EXIF orientation, 16-bit scaling). Class folder names map
through the emotion aliases (``anger``, ``Happy``, ``3_happy`` all work), so CK+/JAFFE-style folders read
the same way. Indices are FER order, never the
alphabetical order of folder names."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..emotions import INDEX, to_emotion
from .dataset import Dataset, canonical_split
from .errors import DataError, OnBad, Skipped, handle_bad
from .images import DECODER_VERSION, DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES, ImageTooLarge, decode_image
from .readers import register_reader

UNSPLIT = "Unsplit"


def _class_dirs(root: Path) -> dict[str, Path]:
    return {d.name: d for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(".")}


def _layout(root: Path) -> list[tuple[str, str, Path]]:
    """(split, emotion, folder) for every class folder; raises when the layout is not recognised."""
    top = _class_dirs(root)
    if not top:
        raise DataError(root, "no sub-folders: expected <class>/ or <split>/<class>/ folders of images")
    if all(to_emotion(name) for name in top):
        return [(UNSPLIT, to_emotion(name), d) for name, d in top.items()]
    out = []
    for split_name, split_dir in top.items():
        classes = _class_dirs(split_dir)
        unknown = [n for n in classes if to_emotion(n) is None]
        if not classes or unknown:
            what = f"class folder(s) {unknown} are not emotions" if unknown else "it has no class folders"
            raise DataError(root, f"cannot read {split_name}/ as a split: {what}; class folders must be FER "
                                  "emotions or synonyms (angry, disgust, fear, happy, sad, surprise, neutral)")
        out += [(canonical_split(split_name), to_emotion(n), d) for n, d in classes.items()]
    return out


def read_image_folder(root: str | Path, on_bad: OnBad = OnBad.error, size: int | None = None,
                      max_pixels: int = DEFAULT_MAX_PIXELS, source_hash: str | None = None) -> Dataset:
    """Read every image under ``root``. Images must share one size unless ``size`` is given (then each is
    resized to size×size with Lanczos). Grayscale stays grayscale unless any image has colour."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, "not a folder")
    skipped = Skipped()
    images, labels, splits, ids = [], [], [], []
    digest = hashlib.sha256()
    for split, emotion, folder in _layout(root):
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
            rel = path.relative_to(root).as_posix()
            if path.parent != folder:  # its label would be a guess: the class folder's, or the sub-folder's name?
                handle_bad(on_bad, skipped, str(root), rel, f"inside sub-folder {path.parent.relative_to(folder)}/ "
                           f"of class folder {folder.relative_to(root)}/: class folders must hold their images "
                           "directly (move them up, or make the sub-folder a class folder of its own)", rel)
                continue
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                handle_bad(on_bad, skipped, str(root), rel, f"not an image file (suffix {path.suffix!r})", rel)
                continue
            try:
                array = decode_image(path, max_pixels)
            except ImageTooLarge as exc:
                handle_bad(on_bad, skipped, str(root), rel, f"image too large (decompression bomb guard): {exc}", rel)
                continue
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
                handle_bad(on_bad, skipped, str(root), rel, f"corrupt or unreadable image: {exc}", rel)
                continue
            if size is not None and array.shape[:2] != (size, size):
                array = np.asarray(Image.fromarray(array).resize((size, size), Image.LANCZOS))
            digest.update(rel.encode() + b"\0" + path.read_bytes())
            images.append(array)
            labels.append(INDEX[emotion])
            splits.append(split)
            ids.append(rel)
    if not images:
        raise DataError(root, "no readable images found" + (f" ({len(skipped)} skipped)" if skipped else ""))
    shapes = {a.shape[:2] for a in images}
    if len(shapes) > 1:
        raise DataError(root, f"images have {len(shapes)} different sizes (e.g. {sorted(shapes)[:3]}); "
                              "pass --size N to resize them all to N×N")
    if any(a.ndim == 3 for a in images):  # one colour image makes the dataset RGB
        images = [np.repeat(a[..., None], 3, axis=2) if a.ndim == 2 else a for a in images]
    return Dataset(
        images=np.stack(images), labels=np.asarray(labels, dtype=np.int64), splits=np.asarray(splits, dtype=str),
        ids=np.asarray(ids, dtype=str), source=str(root), source_hash=source_hash or digest.hexdigest(),
        name=root.name,
        options={"reader": "folder", "decoder": DECODER_VERSION, "size": size, "on_bad": OnBad(on_bad).value},
        report={"files": len(images) + len(skipped), **({"skipped": skipped.summary()} if skipped else {})},
    )


@register_reader("image_folder", accepts=lambda path: path.is_dir(),
                 description="ROOT/<split>/<class>/*.png or ROOT/<class>/*.png")
def read_folder_source(path: Path, on_bad: OnBad = OnBad.error, size: int | None = None,
                       use_cache: bool = True) -> Dataset:
    return read_image_folder(path, on_bad=on_bad, size=size)  # decoding is the cost: nothing to cache
