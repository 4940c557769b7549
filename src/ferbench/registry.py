"""A small generic registry: one instance per plug-in kind (models, restorers, degradations, ...).

A plug-in registers itself with a decorator in its own module; the registry imports every module of
its package (found with pkgutil, so there is no list to keep) the first time it is asked, so that
``list_*`` sees every built-in entry without import-order surprises.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar

T = TypeVar("T", bound=Callable[..., Any])


class UnknownNameError(KeyError):
    """An unknown plug-in name. A KeyError (callers catch it as one) whose text is the plain message: KeyError
    itself prints its argument quoted."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def did_you_mean(name: str, known: list[str] | tuple[str, ...], fallback: list[str] | None = None) -> str:
    """``; did you mean resnet50?`` from difflib's close matches (else ``fallback``), or "" when none."""
    close = difflib.get_close_matches(str(name), list(known), n=3, cutoff=0.6) or fallback or []
    return f"; did you mean {' or '.join(close)}?" if close else ""


def unknown_name(kind: str, name: str, known: list[str]) -> UnknownNameError:
    """``unknown model 'resnet5'; did you mean resnet50? known: ...``, suggestions by difflib."""
    return UnknownNameError(f"unknown {kind} {name!r}{did_you_mean(name, known)} (known: {', '.join(known) or 'none'})")


@dataclass
class Entry(Generic[T]):
    name: str
    fn: T
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def description(self) -> str:
        doc = (self.fn.__doc__ or "").strip()
        return self.meta.get("description") or (doc.splitlines()[0] if doc else "")


class Registry(Generic[T]):
    def __init__(self, kind: str, package: str | None = None):
        """``package``: where the built-in plug-ins live (its modules and sub-packages are imported on first use)."""
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}
        self._package = package
        self._loaded = False

    def register(self, name: str, **meta: Any) -> Callable[[T], T]:
        def decorator(fn: T) -> T:
            if name in self._entries and self._entries[name].fn is not fn:
                raise ValueError(f"{self.kind} {name!r} is already registered by {self._entries[name].fn.__module__}")
            self._entries[name] = Entry(name, fn, dict(meta))
            return fn
        return decorator

    def _load_builtins(self) -> None:
        if not self._loaded:
            self._loaded = True
            for module in builtin_modules(self._package) if self._package else ():
                importlib.import_module(module)

    def get(self, name: str) -> Entry[T]:
        self._load_builtins()
        try:
            return self._entries[name]
        except KeyError:
            raise unknown_name(self.kind, name, sorted(self._entries)) from None

    def names(self, **filters: Any) -> list[str]:
        self._load_builtins()
        return sorted(n for n, e in self._entries.items() if all(e.meta.get(k) == v for k, v in filters.items()))

    def entries(self, **filters: Any) -> list[Entry[T]]:
        return [self._entries[n] for n in self.names(**filters)]

    def __contains__(self, name: str) -> bool:
        self._load_builtins()
        return name in self._entries


def builtin_modules(package: str) -> list[str]:
    """The modules and sub-packages directly inside ``package`` (a sub-package's ``__init__`` imports its own)."""
    path = importlib.import_module(package).__path__
    return [f"{package}.{m.name}" for m in sorted(pkgutil.iter_modules(path), key=lambda m: m.name)
            if not m.name.startswith("_")]
