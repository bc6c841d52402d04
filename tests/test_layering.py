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
