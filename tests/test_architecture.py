"""Imports point one way (ARCHITECTURE.md): a module never imports one from a higher layer."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).parent.parent / "simulation"

LAYERS = {
    "errors": 0,
    "params": 0,
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
    "pricing": 4,
    "cashflow": 4,
    "report": 4,
    "commands": 4,
    "cli": 4,
}


def layer_of(parts: tuple[str, ...]) -> int | None:
    return LAYERS.get(parts[0]) if parts else None


def imported_modules(path: Path) -> list[tuple[str, ...]]:
    tree = ast.parse(path.read_text())
    rel = path.relative_to(PKG).with_suffix("").parts
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(rel[: len(rel) - node.level])
                target = base + (node.module.split(".") if node.module else [])
                if not node.module:
                    target += [node.names[0].name]
                out.append(tuple(target))
            elif node.module and node.module.startswith("simulation."):
                out.append(tuple(node.module.split(".")[1:]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("simulation."):
                    out.append(tuple(alias.name.split(".")[1:]))
    return out


def test_imports_point_down():
    wrong = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).with_suffix("").parts
        if rel == ("__init__",) or rel == ("__main__",):
            continue
        mine = layer_of(rel)
        assert mine is not None, f"{path}: add this module to LAYERS and ARCHITECTURE.md"
        for target in imported_modules(path):
            theirs = layer_of(target)
            if target and target[0] == "__init__":
                continue
            if theirs is not None and theirs > mine:
                wrong.append(
                    f"{'/'.join(rel)} (layer {mine}) imports {'.'.join(target)} (layer {theirs})"
                )
    assert not wrong, "\n".join(wrong)
