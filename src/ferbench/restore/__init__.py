"""Face restoration: a registry of restorers with one interface, and cached, resumable, parallel runs."""

from .base import Restorer, RestorerParams, RestorerUnavailable
from .registry import create_restorer, get_restorer_entry, list_restorers, register_restorer

__all__ = ["Restorer", "RestorerParams", "RestorerUnavailable", "create_restorer", "get_restorer_entry",
           "list_restorers", "register_restorer", "restore_dataset", "load_restored"]


def __getattr__(name: str):  # the stage runner pulls in the cost meter: import it only when used
    if name == "restore_dataset":
        from .stage import restore_dataset

        return restore_dataset
    if name == "load_restored":
        from ..stages.runner import load_job

        return load_job
    raise AttributeError(name)
