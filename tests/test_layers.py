"""The house's rules, checked from the code's own imports: front ends use only the engine's front door,
the engine never reaches for Discord or the front ends, its packages import only downwards, and no
module imports itself round a circle (type-only imports count: they are how a reader finds their way)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import index

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["core", "storage", "reading", "search", "news", "engine", "processes", "features"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it; ``from pkg import mod`` names the module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (ROOT / Path(*candidate.split("."))).with_suffix(".py").exists()
                found.add(candidate if is_module else node.module)
    return found


GRAPH = {module_name(p): imports(p) for package in ("index", "bot") for p in (ROOT / package).rglob("*.py")}


def test_front_ends_use_only_the_front_door() -> None:
    reaching_in = {
        f"{module} -> {name}"
        for module, names in GRAPH.items()
        if module.startswith("bot")
        for name in names
        if name.startswith("index.")
    }
    assert not reaching_in, sorted(reaching_in)


def test_the_engine_never_imports_discord_or_the_front_ends() -> None:
    outward = {
        f"{module} -> {name}"
        for module, names in GRAPH.items()
        if module.startswith("index")
        for name in names
        if name.split(".")[0] in ("discord", "bot")
    }
    assert not outward, sorted(outward)


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[0] == "index" and parts[1] in LAYERS else None


def test_the_engines_packages_import_only_downwards() -> None:
    upward = {
        f"{module} -> {name}"
        for module, names in GRAPH.items()
        for name in names
        if (mine := layer(module)) is not None and (theirs := layer(name)) is not None and theirs > mine
    }
    assert not upward, sorted(upward)


def test_no_import_circles() -> None:
    """Tarjan's strongly connected components over the project's own modules."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        for name in GRAPH[module]:
            if name not in GRAPH:
                continue
            if name not in order:
                visit(name)
                low[module] = min(low[module], low[name])
            elif name in stack:
                low[module] = min(low[module], order[name])
        if low[module] == order[module]:
            component = []
            while (name := stack.pop()) != module:
                component.append(name)
            if component:
                circles.append(sorted([module, *component]))

    for module in GRAPH:
        if module not in order:
            visit(module)
    assert not circles, circles


@pytest.mark.parametrize("name", index.__all__)
def test_every_name_of_the_front_door_resolves(name: str) -> None:
    assert getattr(index, name) is not None
