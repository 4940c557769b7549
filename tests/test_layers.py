"""The package's layers, checked from the source's imports (``ast``, nothing imported): lower layers never
import higher ones, and no two modules import each other, however indirectly (function-level imports count).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
# The top folders of ferbench in two tiers: the library and the tools built on it.
LOWER = {"data", "runs", "metrics", "cost", "utils", "models", "degrade", "restore", "stages", "train", "predict",
         "emotions", "registry"}
HIGHER = {"study", "report", "cli", "serve"}


def _module_name(path: Path, src: Path) -> str:
    parts = path.relative_to(src).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = SRC / "ferbench") -> dict[str, set[str]]:
    """module -> the ferbench modules it imports. ``from pkg import sub`` is an edge to ``pkg.sub`` only
    when ``sub`` is a module, else to ``pkg``."""
    files = {_module_name(p, root.parent): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in files]
                deps.update(subs or [base])
        graph[name] = {d for d in deps if d in files and d != name}
    return graph


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_top_folder_has_a_layer():
    tops = {p.stem if p.is_file() else p.name for p in (SRC / "ferbench").iterdir()
            if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and not p.stem.startswith("_"))}
    assert tops <= LOWER | HIGHER, f"place {sorted(tops - LOWER - HIGHER)} in LOWER or HIGHER of this test"


def test_lower_layers_never_import_higher_ones():
    wrong = sorted(f"{m} -> {d}" for m, deps in import_graph().items() if _layer(m) in LOWER
                   for d in deps if _layer(d) in HIGHER)
    assert not wrong, "lower layer imports a higher one:\n" + "\n".join(wrong)


def test_no_import_cycles():
    graph = import_graph()
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                cycles.append(" -> ".join(path[path.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_checker_sees_a_lower_to_higher_import(tmp_path):
    pkg = tmp_path / "ferbench"
    for folder, text in {"data": "from ..study.x import run\n", "study": "def run(): ...\n"}.items():
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
        (pkg / folder / "x.py").write_text(text)
    (pkg / "study" / "y.py").write_text("def f():\n    from ..data import x\n")
    graph = import_graph(pkg)
    assert graph["ferbench.data.x"] == {"ferbench.study.x"}
    assert graph["ferbench.study.y"] == {"ferbench.data.x"}


def test_degrade_runs_as_a_stage_without_restore():
    reached, todo = set(), [m for m in import_graph() if _layer(m) == "degrade"]
    graph = import_graph()
    while todo:
        module = todo.pop()
        for dep in graph[module] - reached:
            reached.add(dep)
            todo.append(dep)
    assert not {m for m in reached if _layer(m) == "restore"}, "degrade reaches restore through its imports"
