"""Mutation score per module from mutmut's results (``mutants/``), less the listed equivalent mutants.

Usage (from the repo root, after ``mutmut run``; ``bash scripts/mutation.sh`` does both):
    python scripts/mutation_report.py MODULES_FILE [--survivors]
MODULES_FILE lines: ``label | mutant-name glob [glob ...]``. Equivalent mutants are listed, one a line with a
reason after ``#``, in scripts/mutation_equivalent.txt.
"""

from __future__ import annotations

import fnmatch
import sys
from collections import Counter
from pathlib import Path

from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.mutation.data import SourceFileMutationData
from mutmut.stats import status_by_exit_code
from mutmut.utils.file_utils import walk_mutatable_files

EQUIVALENT = Path(__file__).with_name("mutation_equivalent.txt")


def load_equivalent() -> dict[str, str]:
    out = {}
    for line in EQUIVALENT.read_text().splitlines() if EQUIVALENT.exists() else []:
        name, _, reason = line.partition("#")
        if name.strip():
            out[name.strip()] = reason.strip()
    return out


def main(modules_file: str, show: bool) -> int:
    modules = []
    for line in Path(modules_file).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            label, _, globs = line.partition("|")
            modules.append((label.strip(), globs.split()))
    status: dict[str, str] = {}
    path_of: dict[str, Path] = {}
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        for key, code in data.exit_code_by_key.items():
            status[key], path_of[key] = status_by_exit_code[code], path
    equivalent = load_equivalent()
    print(f"| module | mutants | equivalent | killed | survived | other | score (killed / non-equivalent) |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    survivors = []
    for label, globs in modules:
        keys = [k for k in status if any(fnmatch.fnmatch(k, g) for g in globs)]
        eq = [k for k in keys if k in equivalent]
        c = Counter(status[k] for k in keys if k not in equivalent)
        other = sum(v for s, v in c.items() if s not in ("killed", "survived"))
        rest = len(keys) - len(eq)
        score = f"{100 * c['killed'] / rest:.1f}%" if rest else "-"
        print(f"| {label} | {len(keys)} | {len(eq)} | {c['killed']} | {c['survived']} | {other} | {score} |")
        survivors += [k for k in keys if k not in equivalent and status[k] != "killed"]
    stale = sorted(set(equivalent) - set(status))
    if stale:
        print(f"\n{len(stale)} listed equivalent mutant(s) no longer exist (code changed): {' '.join(stale)}")
    if show:
        for key in sorted(survivors):
            print(f"\n# {key}: {status[key]}\n{get_diff_for_mutant(key, path=path_of[key])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], "--survivors" in sys.argv[2:]))
