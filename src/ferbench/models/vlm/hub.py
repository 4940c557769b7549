"""Finding VLM weights: local directories and files first; the Hugging Face cache; the network only when asked.

Model hubs are unreachable on the reference machine, and a benchmark must not change because a hub changed,
so loaders default to offline: a hub id resolves from the local cache (``cache_dir``) or fails with a
message saying how to get the files; ``download=true`` lifts that.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator

from ...utils.io import read_json


@contextlib.contextmanager
def hub_offline(download: bool) -> Iterator[None]:
    """Within the block, huggingface_hub only reads its cache unless ``download`` (open_clip calls
    ``hf_hub_download`` without a ``local_files_only`` switch, so offline mode is the one lever)."""
    if download:
        yield
        return
    from unittest import mock

    import huggingface_hub.constants as hub_constants

    with mock.patch.object(hub_constants, "HF_HUB_OFFLINE", True):
        yield


def offline_hint(source: str, download: bool) -> str:
    if download:
        return f"could not load {source!r}"
    return (f"could not load {source!r} from local files or the cache; give a local directory/file, a "
            f"cache_dir=... holding it, or --option download=true when online")


def read_hf_config(path: str | Path) -> dict[str, Any] | None:
    """``config.json`` of a local Hugging Face model directory, or ``None`` for anything else."""
    config = Path(path) / "config.json"
    if not config.is_file():
        return None
    return read_json(config)


def require_remote_code_consent(source: str, config: dict[str, Any] | None, trust_remote_code: bool,
                                always: bool = False) -> None:
    """Refuse to run a model's own Python code (``auto_map`` in config.json) without explicit consent."""
    ships_code = always or bool(config and config.get("auto_map"))
    if ships_code and not trust_remote_code:
        raise ValueError(f"{source} runs its own Python code from the model directory (e.g. Phi-3.5-Vision); "
                         f"review it, then pass --trust-remote-code (ferbench eval) or "
                         f"--option trust_remote_code=true to allow it")
