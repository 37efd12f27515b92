"""The package layout holds: engine/ never imports Qt or app/, a lower layer never imports a
higher one, and no module imports another in a circle (docs/ARCHITECTURE.md, "Layers")."""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

ENGINE = ROOT / "engine"
# lowest first; a module may import from its own layer or lower ones
LAYERS = [("engine.errors", "engine.files", "engine.slots"), ("engine.nets", "engine.media"), ("engine.runtime",),
          ("engine.training", "engine.tools", "engine.learn"), ("engine.cli",)]
RUNTIME_PACKAGES = ("engine.nets", "engine.media", "engine.runtime")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names; relative imports resolved)."""
    tree = ast.parse(path.read_text())
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return found


def engine_modules() -> dict[str, set[str]]:
    modules = {module_name(p): imports_of(p) for p in ENGINE.rglob("*.py")}
    return {m: {i for i in imps if i in modules or i.split(".")[0] in ("PySide6", "app")}
            for m, imps in modules.items()}


def layer_of(module: str) -> int | None:
    for level, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return level
    return None


def test_engine_has_no_qt_and_no_app_import():
    bad = {m: sorted(i for i in imps if i.split(".")[0] in ("PySide6", "app"))
           for m, imps in engine_modules().items()}
    assert not {m: v for m, v in bad.items() if v}


def test_lower_layers_never_import_higher_ones():
    wrong = [(m, i) for m, imps in engine_modules().items() for i in imps
             if layer_of(m) is not None and layer_of(i) is not None and layer_of(i) > layer_of(m)]
    assert not wrong


def test_runtime_never_imports_tools_training_or_cli():
    wrong = [(m, i) for m, imps in engine_modules().items() if m.startswith(RUNTIME_PACKAGES)
             for i in imps if i.startswith(("engine.tools", "engine.training", "engine.cli"))]
    assert not wrong


def test_no_import_circle():
    graph = {m: {i for i in imps if i.startswith("engine") and i != m} for m, imps in engine_modules().items()}
    graph = {m: {i for i in deps if i in graph and not m.startswith(i + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(m: str, path: list[str]) -> bool:
        state[m] = 1
        for dep in graph[m]:
            if state.get(dep) == 1:
                cycle.extend(path[path.index(dep):] + [m, dep] if dep in path else [m, dep])
                return True
            if state.get(dep) is None and visit(dep, path + [m]):
                return True
        state[m] = 2
        return False

    for m in sorted(graph):
        if state.get(m) is None and visit(m, []):
            break
    assert not cycle, " → ".join(cycle)


def test_no_engine_module_over_600_lines():
    long = {str(p.relative_to(ROOT)): n for p in ENGINE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 600}
    assert not long


def test_every_engine_import_resolves():
    """Lazy imports inside functions too: a module moved to another package keeps no dangling
    relative import (the stabilizer study's ``from .stylizer`` broke only when it ran)."""
    import importlib.util

    missing = []
    for path in ENGINE.rglob("*.py"):
        for name in imports_of(path):
            if name.startswith("engine") and importlib.util.find_spec(name.rpartition(".")[0] or name) is None:
                missing.append((module_name(path), name))
    assert not missing
