"""Data flows one way (STYLE.md): functional -> cells -> layers -> models -> tasks -> training
-> CLI. No module imports a package above its own, not even lazily inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import rnnkit

ROOT = Path(rnnkit.__file__).parent

# Packages (and top-level modules) by level; a module may import only strictly lower levels or
# its own package. "rnnkit" is `import rnnkit` / `from rnnkit import X`: the cells and layers.
LEVELS = [
    {"errors", "_version"},
    {"checks", "config", "devices", "files"},
    {"data", "functional"},
    {"backends"},
    {"cells"},
    {"layers", "rnnkit"},
    {"diagnostics", "models"},
    {"experiments", "tasks"},
    {"training"},
    {"export", "viewer"},
    {"cli"},
    {"__main__"},
]
LEVEL = {name: k for k, names in enumerate(LEVELS) for name in names}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, rnnkit sub-package or top-level module) of every rnnkit import in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] == "rnnkit":
                found.append((node.lineno, parts[1] if len(parts) > 1 else "rnnkit"))
    return found


def _package(path: Path) -> str:
    rel = path.relative_to(ROOT).parts
    return rel[0] if len(rel) > 1 else path.stem


SOURCES = sorted(p for p in ROOT.rglob("*.py") if _package(p) != "__init__")


def test_every_package_has_a_level():
    unknown = {_package(p) for p in SOURCES} - set(LEVEL)
    assert not unknown, f"add these to LEVELS: {sorted(unknown)}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_only_go_down(path):
    own = _package(path)
    wrong = [f"line {line}: {own} imports rnnkit.{target}" for line, target in _imports(path)
             if target != own and LEVEL[target] >= LEVEL[own]]
    assert not wrong, "; ".join(wrong)


def test_the_check_sees_a_lazy_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from rnnkit.training.checkpoint import load_run\n")
    assert _imports(bad) == [(2, "training")]


def _module_name(path: Path) -> str:
    parts = ("rnnkit", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:])
    return (ROOT / rel).with_suffix(".py").is_file() or (ROOT / rel / "__init__.py").is_file()


def _edges(path: Path) -> set[str]:
    """The rnnkit modules a file imports (`from pkg import sub` counts as importing pkg.sub)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "rnnkit":
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if _is_module(sub) else node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "rnnkit")
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first search (each reported once, from its first module)."""
    found, done = [], set()

    def visit(node, stack):
        if node in stack:
            found.append(stack[stack.index(node):] + [node])
            return
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, stack + [node])
        done.add(node)

    for start in sorted(graph):
        visit(start, [])
    return found


def test_no_import_circles():
    graph = {_module_name(p): _edges(p) for p in ROOT.rglob("*.py")}
    assert [" -> ".join(c) for c in _cycles(graph)] == []


def test_the_circle_check_sees_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_module_imports_another_modules_private_names():
    private = [f"{p.relative_to(ROOT)}: {node.module}.{a.name}"
               for p in ROOT.rglob("*.py")
               for node in ast.walk(ast.parse(p.read_text()))
               if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rnnkit")
               for a in node.names
               if a.name.startswith("_") and not a.name.startswith("__")]
    assert private == []
