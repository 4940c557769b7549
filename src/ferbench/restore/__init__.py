"""Face restoration: a registry of restorers with one interface, and cached, resumable, parallel runs."""

from .base import Restorer, RestorerParams, RestorerUnavailable
from .registry import create_restorer, get_restorer_entry, list_restorers, register_restorer

__all__ = ["Restorer", "RestorerParams", "RestorerUnavailable", "create_restorer", "get_restorer_entry",
           "list_restorers", "register_restorer", "restore_dataset", "load_restored"]


def __getattr__(name: str):  # the runner pulls in rich and the cost meter: import it only when used
    if name in ("restore_dataset", "load_restored"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(name)
