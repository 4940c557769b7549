"""The dataset-reader registry: how ``load_dataset`` reads a path. A reader registers itself in its own module:

    @register_reader("parquet", accepts=lambda p: p.suffix == ".parquet")
    def read(path, on_bad, size, use_cache) -> Dataset: ...

The first reader (highest ``priority``) whose ``accepts(path)`` is true reads it; the FER-2013 CSV reader
takes any other file (priority -1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..registry import Entry, Registry
from .errors import DataError

READERS: Registry[Callable[..., Any]] = Registry("dataset reader", package="ferbench.data")


def register_reader(name: str, accepts: Callable[[Path], bool], priority: int = 0, **meta: Any) -> Callable:
    return READERS.register(name, accepts=accepts, priority=priority, **meta)


def list_readers() -> list[str]:
    return READERS.names()


def reader_for(path: Path) -> Entry:
    for entry in sorted(READERS.entries(), key=lambda e: -e.meta["priority"]):
        if entry.meta["accepts"](path):
            return entry
    raise DataError(path, f"no dataset reader takes it (readers: {', '.join(list_readers())})")
