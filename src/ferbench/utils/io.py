"""Atomic file writes and content hashes: a cache or result file is either whole or absent."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed over ``path`` (same filesystem,
    so the rename is atomic); on any error it is removed and ``path`` is left untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Parsed JSON; a malformed file is a ValueError naming it."""
    try:
        return json.loads(Path(path).read_text())
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from None


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def to_json(obj: Any, **kw: Any) -> str:
    return json.dumps(obj, default=_json_default, **kw)


def sha256_file(path: str | os.PathLike) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


@functools.lru_cache(maxsize=256)
def _sha256_stamped(path: str, size: int, mtime_ns: int) -> str:
    return sha256_file(path)


def path_digest(path: str | os.PathLike | None) -> str | None:
    """SHA-256 identifying a weights file, or every file of a model directory (weights, configs, chat
    template, code; name + content hash; hidden files skipped); ``None`` for no path or a missing one.
    Run files, cache keys and study-cell identities record it, tying results to exact files. File hashes are
    memoised per (path, size, mtime) within a process: a study asks for the same weights once per cell."""
    if path is None:
        return None
    path = Path(path)
    if path.is_file():
        st = path.stat()
        return _sha256_stamped(str(path.resolve()), st.st_size, st.st_mtime_ns)
    if not path.is_dir():
        return None
    h = hashlib.sha256()
    for file in sorted(path.rglob("*")):
        if file.is_file() and not any(part.startswith(".") for part in file.relative_to(path).parts):
            h.update(f"{file.relative_to(path)}\0{path_digest(file)}\n".encode())
    return h.hexdigest()


def sha256_json(obj: Any) -> str:
    """Hash of a JSON-able object, stable across runs (sorted keys): the basis of every cache key."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=_json_default).encode()).hexdigest()


def cache_dir(*parts: str) -> Path:
    """ferbench's cache root: ``$FERBENCH_CACHE``, else ``$XDG_CACHE_HOME/ferbench``, else ``~/.cache/ferbench``."""
    root = os.environ.get("FERBENCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "ferbench")
    path = Path(root, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
