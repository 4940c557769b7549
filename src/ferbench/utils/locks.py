"""An exclusive lock on a folder, so that two processes never write the same results at once."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator


class Busy(RuntimeError):
    """Another process holds the lock."""


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, what: str, name: str = ".lock") -> Iterator[None]:
    """Hold an flock on ``folder/name`` (the kernel releases it when the holder dies, so a killed run never
    leaves a stale lock). The holder's pid is written in the file; a second taker gets :class:`Busy` at once."""
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            raise Busy(f"{folder}: another {what} is writing into this folder (pid {holder}); wait for it to "
                       "finish or choose another output folder") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
