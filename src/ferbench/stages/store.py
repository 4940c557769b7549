"""A job directory of sharded outputs that survives ``kill -9``.

Layout of ``DIR``::

    job.json        what the job is (its cache key and stage), the source dataset, status and cost
    meta.npz        ids, labels, splits (and soft labels) of the source, to rebuild the Dataset
    manifest.json   finished shards: file, SHA-256, image count, cost, the pid that computed it
    shard-00000.npz images (n×H×W[×3] uint8) and ids of dataset rows [0, shard_size), and so on

Every file is written atomically (temporary file + rename). A shard counts as finished only once the
manifest lists it with its checksum, and the manifest is rewritten after the shard file: a kill between the
two leaves a shard that is recomputed, never one that is trusted unverified. On resume every listed shard is
re-hashed; one that fails is recomputed. One process at a time may write a job (an flock on ``DIR/.lock``).
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..utils.io import atomic_path, sha256_file, write_json

JOB, META, MANIFEST, LOCK = "job.json", "meta.npz", "manifest.json", ".lock"
FORMAT = 1


def shard_name(index: int) -> str:
    return f"shard-{index:05d}.npz"


class ShardStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    # -- job -----------------------------------------------------------------------------------------------
    def read_job(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.path / JOB).read_text())
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise ValueError(f"{self.path / JOB}: unreadable ({exc})") from None

    def write_job(self, job: dict[str, Any]) -> None:
        write_json(self.path / JOB, job)

    def write_meta(self, **arrays: np.ndarray) -> None:
        self._write_npz(self.path / META, arrays)

    def read_meta(self) -> dict[str, np.ndarray]:
        with np.load(self.path / META, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive writer lock; released by the kernel even when the holder is killed."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / LOCK, "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RuntimeError(f"{self.path}: another process is writing this job") from None
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- shards --------------------------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        try:
            return json.loads((self.path / MANIFEST).read_text())
        except FileNotFoundError:
            return {"format": FORMAT, "shards": {}}

    def finished(self) -> dict[int, dict[str, Any]]:
        """Shards listed in the manifest whose file is present and matches its checksum."""
        good = {}
        for key, entry in self.manifest()["shards"].items():
            file = self.path / entry["file"]
            if file.exists() and sha256_file(file) == entry["sha256"]:
                good[int(key)] = entry
        return good

    def clean_partial(self) -> list[str]:
        """Remove temporary files a killed writer left behind; returns their names."""
        left = [p for p in self.path.glob(".*.tmp")]
        for p in left:
            p.unlink(missing_ok=True)
        return [p.name for p in left]

    def write_shard(self, index: int, images: np.ndarray, ids: np.ndarray, **info: Any) -> dict[str, Any]:
        """Write shard ``index`` then record it in the manifest (in that order: see the module docstring)."""
        file = self.path / shard_name(index)
        self._write_npz(file, {"images": images, "ids": ids})
        entry = {"file": file.name, "sha256": sha256_file(file), "n": int(len(images)), "pid": os.getpid(), **info}
        manifest = self.manifest()
        manifest["shards"][str(index)] = entry
        write_json(self.path / MANIFEST, manifest)
        return entry

    def read_shard(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        with np.load(self.path / shard_name(index), allow_pickle=False) as z:
            return z["images"], z["ids"]

    @staticmethod
    def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)  # uncompressed: faces compress little, and loading stays fast
        with atomic_path(path) as tmp:
            tmp.write_bytes(buffer.getvalue())
