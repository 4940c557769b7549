"""On-disk cache of parsed datasets, keyed by the source file's content hash and the reader options.

Re-hashing an 85 MB file costs ~0.15 s, so a small memo maps (path, size, mtime) to the content hash;
a file that changes gets a new size/mtime and is hashed again. Cache files are written atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..utils.io import cache_dir, sha256_file, sha256_json, write_json
from .dataset import Dataset

FORMAT_VERSION = 2  # bump when a reader's output changes (2: pixel count from the commonest row length)


def content_hash(path: str | Path) -> str:
    path = Path(path).resolve()
    st = path.stat()
    memo_file = cache_dir("hashes") / (sha256_json([str(path)])[:32] + ".json")
    stamp = [st.st_size, st.st_mtime_ns]
    try:
        memo = json.loads(memo_file.read_text())
        if memo["stamp"] == stamp:
            return memo["sha256"]
    except (OSError, ValueError, KeyError):
        pass
    digest = sha256_file(path)
    write_json(memo_file, {"path": str(path), "stamp": stamp, "sha256": digest})
    return digest


def cached_read(path: str | Path, reader: Callable[..., Dataset], options: dict[str, Any],
                use_cache: bool = True) -> Dataset:
    """``reader(path, source_hash=..., **options)``, served from the cache when the same content was
    read with the same options before."""
    digest = content_hash(path)
    if not use_cache:
        return reader(path, source_hash=digest, **options)
    key = sha256_json({"v": FORMAT_VERSION, "reader": reader.__module__ + "." + reader.__name__,
                       "sha256": digest, "options": options})
    file = cache_dir("datasets") / f"{key[:40]}.npz"
    if file.exists():
        try:
            return _load(file, path)
        except Exception:  # a damaged entry is rebuilt, never trusted
            file.unlink(missing_ok=True)
    ds = reader(path, source_hash=digest, **options)
    _save(file, ds)
    return ds


def _save(file: Path, ds: Dataset) -> None:
    meta = {"source_hash": ds.source_hash, "name": ds.name, "options": ds.options, "report": ds.report,
            "classes": list(ds.classes)}
    arrays = {"images": ds.images, "labels": ds.labels, "splits": ds.splits.astype(str), "ids": ds.ids.astype(str),
              "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
    if ds.soft_labels is not None:
        arrays["soft_labels"] = ds.soft_labels
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)  # uncompressed: loading must be fast, not small
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, file)
    finally:
        tmp.unlink(missing_ok=True)


def _load(file: Path, path: str | Path) -> Dataset:
    with np.load(file, allow_pickle=False) as z:
        meta = json.loads(z["meta"].tobytes())
        return Dataset(images=z["images"], labels=z["labels"], splits=z["splits"], ids=z["ids"], source=str(path),
                       source_hash=meta["source_hash"], name=meta["name"], options=meta["options"],
                       report=meta["report"], classes=tuple(meta["classes"]),
                       soft_labels=z["soft_labels"] if "soft_labels" in z.files else None)
