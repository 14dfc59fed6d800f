"""Imports point one way (ARCHITECTURE.md): a module never imports one from a higher layer, and no
modules import each other in a cycle (counting imports inside functions and ``TYPE_CHECKING``)."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).parent.parent / "simulation"

LAYERS = {
    "errors": 0,
    "params": 0,
    "_version": 0,
    "outputs": 0,
    "interrupts": 0,
    "__init__": 4,
    "scenario": 1,
    "rules": 2,
    "models": 2,
    "engine": 3,
    "fit": 3,
    "claims_data": 3,
    "synth": 3,
    "history": 3,
    "pricing": 4,
    "cashflow": 4,
    "report": 4,
    "explore": 4,
    "commands": 4,
    "cli": 4,
}

LAZY_EDGES_ALLOWED = {
    (
        ("scenario", "schema", "scenario"),
        ("scenario", "values"),
    ): "Scenario.with_values validates its edit like a "
    "file, which takes the loader (a layer above the model in the same package); the import runs "
    "inside the method, at call time",
}
"""Imports inside a function that may close a cycle, each with the reason (keep this short)."""

Module = tuple[str, ...]
"""A module by its parts below the package: ``("engine", "run")``; ``()`` is the package root."""


def modules(pkg: Path) -> dict[Module, Path]:
    """Every module of the package; a subpackage is its ``__init__``."""
    out = {}
    for path in pkg.rglob("*.py"):
        parts = path.relative_to(pkg).with_suffix("").parts
        out[parts[:-1] if parts[-1] == "__init__" else parts] = path
    return out


def imported_modules(pkg: Path, path: Path, known: dict[Module, Path]) -> list[Module]:
    """The package's modules that ``path`` imports, anywhere in the file. ``from X import name``
    imports module ``X.name`` if there is one, else ``X`` itself (``from . import __version__``
    in a top-level module imports the package root, ``()``)."""
    parts = path.relative_to(pkg).with_suffix("").parts
    here = parts[:-1]  # the package that holds this file (for __init__, the package itself)
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
                target = (*base, *(node.module.split(".") if node.module else []))
            elif node.module and node.module.split(".")[0] == pkg.name:
                target = tuple(node.module.split(".")[1:])
            else:
                continue
            for alias in node.names:
                sub = (*target, alias.name)
                out.append(sub if sub in known else target)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == pkg.name:
                    out.append(tuple(alias.name.split(".")[1:]))
    return out


def layer_of(module: Module) -> int | None:
    return LAYERS["__init__"] if module == () else LAYERS.get(module[0])


def upward_imports(pkg: Path) -> list[str]:
    """Each import from a module to one in a higher layer."""
    known = modules(pkg)
    wrong = []
    for mod, path in sorted(known.items()):
        if mod in ((), ("__main__",)):
            continue
        mine = layer_of(mod)
        assert mine is not None, f"{path}: add this module to LAYERS and ARCHITECTURE.md"
        for target in imported_modules(pkg, path, known):
            theirs = layer_of(target)
            if theirs is not None and theirs > mine:
                name = ".".join(target) or "the package root"
                wrong.append(f"{'.'.join(mod)} (layer {mine}) imports {name} (layer {theirs})")
    return wrong


def import_cycles(pkg: Path) -> list[list[str]]:
    """The strongly connected sets of two or more modules of the import graph (Tarjan)."""
    known = modules(pkg)
    graph = {
        m: {
            t
            for t in imported_modules(pkg, p, known)
            if t in known and t != m and (m, t) not in LAZY_EDGES_ALLOWED
        }
        for m, p in known.items()
    }
    index: dict[Module, int] = {}
    low: dict[Module, int] = {}
    stack: list[Module] = []
    on_stack: set[Module] = set()
    cycles = []

    def visit(v: Module) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(".".join(w) or pkg.name)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_imports_point_down():
    wrong = upward_imports(PKG)
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    cycles = import_cycles(PKG)
    assert not cycles, "\n".join(" <-> ".join(c) for c in cycles)


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    pkg = tmp_path / "simulation"
    for name, text in files.items():
        path = pkg / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return pkg


def test_a_relative_import_of_the_package_root_from_below_is_caught(tmp_path):
    pkg = _plant(
        tmp_path,
        {
            "__init__.py": "from .engine import run\n__version__ = '1'\n",
            "errors.py": "from . import __version__\n",  # layer 0 loading the whole package
            "engine/__init__.py": "",
            "engine/run.py": "from .. import errors\n",  # down: fine
            "rules/__init__.py": "",
            "rules/bands.py": "def f():\n    from ..engine import run\n",  # up, inside a function
        },
    )
    wrong = upward_imports(pkg)
    assert wrong == [
        "errors (layer 0) imports the package root (layer 4)",
        "rules.bands (layer 2) imports engine.run (layer 3)",
    ]


def test_an_import_cycle_is_caught(tmp_path):
    pkg = _plant(
        tmp_path,
        {
            "__init__.py": "",
            "engine/__init__.py": "",
            "engine/result.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from .run import RunInfo\n",
            "engine/run.py": "from .result import SimulationResult\n",
            "engine/plan.py": "from . import result\n",
        },
    )
    assert import_cycles(pkg) == [["engine.result", "engine.run"]]
