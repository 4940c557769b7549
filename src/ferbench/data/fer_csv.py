"""Reader for FER-2013 in its Kaggle CSV form: ``fer2013.csv`` (``emotion,pixels,Usage``), gzip'd or
not, and the ``icml_face_data.csv`` variant (``emotion, Usage, pixels`` with leading spaces)."""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..emotions import NUM_CLASSES
from ..utils.io import sha256_file
from .cache import cached_read
from .dataset import SPLITS, Dataset
from .errors import DataError, OnBad, Skipped, handle_bad
from .pixels import parse_pixels
from .readers import register_reader

_USAGE = {s.lower(): s for s in SPLITS}
DEFAULT_SPLIT = "Unsplit"  # for CSVs without a Usage column (Kaggle's train.csv)


def read_bytes(path: Path) -> bytes:
    """File contents, gunzipped when the file is gzip (by its magic bytes, not its name)."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            from isal import igzip  # ~3x faster than zlib: most of a cold parse is decompression

            return igzip.decompress(raw)
        except ImportError:
            import gzip

            return gzip.decompress(raw)
    return raw


def _where(row: int) -> str:
    return f"row {row} (line {row + 2})"


def read_fer_csv(path: str | Path, on_bad: OnBad = OnBad.error, source_hash: str | None = None) -> Dataset:
    path = Path(path)
    try:
        raw = read_bytes(path)
    except OSError as exc:
        raise DataError(path, f"cannot read file: {exc}") from exc
    except Exception as exc:  # corrupt gzip stream
        raise DataError(path, f"cannot decompress: {exc}") from exc
    if raw[:3] == b"\xef\xbb\xbf":  # UTF-8 byte-order mark (Excel's "CSV UTF-8"): not part of the header
        raw = memoryview(raw)[3:]
    if re.search(rb"\S", raw[:1 << 20]) is None and not bytes(raw[1 << 20:]).strip():  # no copy for real files
        raise DataError(path, "empty file")
    try:
        table = pacsv.read_csv(pa.py_buffer(raw), read_options=pacsv.ReadOptions(block_size=1 << 24),
                               convert_options=pacsv.ConvertOptions(column_types=_all_strings(raw)))
    except pa.ArrowInvalid as exc:
        raise DataError(path, f"not a valid FER-2013 CSV: {exc}") from exc
    columns = {name.strip().lower(): name for name in table.column_names}
    missing = [c for c in ("emotion", "pixels") if c not in columns]
    if missing:
        raise DataError(path, f"missing column(s) {', '.join(missing)}; found {table.column_names} "
                              "(expected emotion,pixels,Usage)")
    n = table.num_rows
    if n == 0:
        raise DataError(path, "no data rows (header only)")
    problems: dict[int, str] = {}

    labels, label_bad = _parse_labels(table.column(columns["emotion"]))
    problems.update(label_bad)
    if "usage" in columns:
        splits, usage_bad = _parse_usage(table.column(columns["usage"]))
        problems.update({r: p for r, p in usage_bad.items() if r not in problems})
    else:
        splits = np.full(n, DEFAULT_SPLIT, dtype=object)
    n_pixels = _pixel_count(table.column(columns["pixels"]))
    side = math.isqrt(n_pixels)
    images, pixel_bad = parse_pixels(table.column(columns["pixels"]), n_pixels)
    problems.update({r: p for r, p in pixel_bad.items() if r not in problems})

    skipped = Skipped()
    if problems and OnBad(on_bad) is OnBad.error:
        row, problem = min(problems.items())
        more = f" ({len(problems)} bad rows in all; --on-bad skip skips them)" if len(problems) > 1 else ""
        raise DataError(path, problem + more, _where(row))
    for row, problem in sorted(problems.items()):
        handle_bad(on_bad, skipped, str(path), str(row), problem, _where(row))
    keep = np.setdiff1d(np.arange(n), np.fromiter(problems, dtype=np.int64, count=len(problems)))
    if len(keep) == 0:
        raise DataError(path, f"no usable rows: all {n} rows are bad ({skipped.summary()['by_problem']})")
    if len(keep) < n:  # a copy of the images only when rows were skipped
        images, labels, splits = images[keep], labels[keep], splits[keep]
    return Dataset(
        images=images.reshape(len(keep), side, side),
        labels=labels,
        splits=np.asarray(splits, dtype=str),
        ids=keep.astype(str),
        source=str(path),
        source_hash=source_hash or sha256_file(path),
        name="fer2013",
        options={"reader": "fer_csv", "on_bad": OnBad(on_bad).value},
        report={"rows": n, "skipped": skipped.summary()} if skipped else {"rows": n},
    )


def _all_strings(raw: bytes) -> dict[str, pa.DataType]:
    head = bytes(raw[:1 << 16])
    header = head[:head.find(b"\n")].decode("utf-8", "replace").strip().split(",")
    return {name: pa.string() for name in header}


def _pixel_count(column: pa.ChunkedArray, sample: int = 2000) -> int:
    """Pixels per image: the most common perfect-square count over rows spread evenly through the whole file
    (all rows of files up to ``sample`` rows), ties going to FER-2013's 2304 = 48×48. Never the first row's
    alone: one truncated first row must not make every good row "bad". Rows that differ are reported as bad,
    with their row numbers, by :func:`parse_pixels`."""
    n = len(column)
    rows = np.unique(np.linspace(0, n - 1, num=min(n, sample)).round().astype(np.int64)) if n else []
    counts = Counter(len((column[int(r)].as_py() or "").split()) for r in rows)
    squares = [(k, c) for c, k in counts.items() if c and math.isqrt(c) ** 2 == c]
    if not squares:
        return 48 * 48
    return max(squares, key=lambda kc: (kc[0], kc[1] == 48 * 48))[1]


def _parse_labels(column: pa.ChunkedArray) -> tuple[np.ndarray, dict[int, str]]:
    text = pc.utf8_trim_whitespace(column.combine_chunks())
    ok = pc.fill_null(pc.utf8_is_digit(text), False).to_numpy(zero_copy_only=False)
    labels = np.full(len(text), -1, dtype=np.int64)
    labels[ok] = pc.cast(pc.filter(text, pa.array(ok)), pa.int64()).to_numpy()
    bad = {int(r): f"label {text[int(r)].as_py()!r} is not an integer" for r in np.flatnonzero(~ok)}
    for r in np.flatnonzero(ok & ((labels < 0) | (labels >= NUM_CLASSES))):
        bad[int(r)] = f"label {labels[r]} out of range 0-{NUM_CLASSES - 1}"
    return labels, bad


def _parse_usage(column: pa.ChunkedArray) -> tuple[np.ndarray, dict[int, str]]:
    text = np.asarray(pc.utf8_trim_whitespace(column.combine_chunks()).to_pylist(), dtype=object)
    splits = np.empty(len(text), dtype=object)
    bad = {}
    uniques, inverse = np.unique(text.astype(str), return_inverse=True)
    for k, value in enumerate(uniques.tolist()):
        canonical = _USAGE.get(value.lower())
        rows = np.flatnonzero(inverse == k)
        if canonical is None:
            for r in rows:
                bad[int(r)] = f"unknown Usage value {value!r} (expected {', '.join(SPLITS)})"
        splits[rows] = canonical
    return splits, bad


@register_reader("fer_csv", accepts=lambda path: path.is_file(), priority=-1,
                 description="FER-2013 CSV (.csv/.csv.gz; Kaggle, ICML or train.csv variants), cached")
def read_csv_source(path: Path, on_bad: OnBad = OnBad.error, size: int | None = None,
                    use_cache: bool = True) -> Dataset:
    ds = cached_read(path, read_fer_csv, {"on_bad": OnBad(on_bad).value}, use_cache=use_cache)
    if size is not None and size != ds.image_size[0]:
        raise DataError(path, f"--size {size} applies to image folders; CSV faces are {ds.image_size[0]}px")
    return ds
