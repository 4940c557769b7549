"""Errors for bad input data, and the skip report used by ``--on-bad skip``."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class OnBad(str, Enum):
    """What to do with a bad row or file: stop with an error (default), or skip it and report it."""

    error = "error"
    skip = "skip"


class DataError(ValueError):
    """Bad input. The message always names the file, the row or path, and the problem."""

    def __init__(self, source: str, problem: str, where: str | None = None):
        self.source, self.problem, self.where = str(source), problem, where
        loc = f"{self.source}, {where}" if where else self.source
        super().__init__(f"{loc}: {problem}")


@dataclass
class Skipped:
    """Bad rows or files skipped under ``--on-bad skip``: never silent, always counted with their ids."""

    items: list[tuple[str, str]] = field(default_factory=list)  # (id, problem)

    def add(self, item_id: str, problem: str) -> None:
        self.items.append((str(item_id), problem))

    def __len__(self) -> int:
        return len(self.items)

    def summary(self) -> dict:
        problems: dict[str, int] = {}
        for _, problem in self.items:
            kind = problem.split(":")[0]
            problems[kind] = problems.get(kind, 0) + 1
        return {"count": len(self.items), "by_problem": problems, "ids": [i for i, _ in self.items]}


def handle_bad(on_bad: OnBad, skipped: Skipped, source: str, item_id: str, problem: str, where: str) -> None:
    """Raise for ``error``, record for ``skip``: the one place this policy is applied."""
    if OnBad(on_bad) is OnBad.error:
        raise DataError(source, problem, where)
    skipped.add(item_id, problem)
