"""The package's layers (crpsmeta/__init__.py): no upward import, PyMC and matplotlib only where they belong.

Every ``import``/``from ... import`` of a crpsmeta module, at module level or inside a function, is read
from the source; a module may import its own layer or any layer before it in LAYERS, never a later one.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "workflow" / "crpsmeta"
# lowest first; a module may import only from its own layer or an earlier one
LAYERS = [
    ("vocabulary", "formatting"),
    ("registry",),
    ("inputs",),
    ("plan",),
    ("models",),
    ("fitting",),
    ("summaries",),
    ("jobs",),
    ("criticism",),
    ("calibration",),
    ("figures",),
    ("report",),
    ("runlog",),
]
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(p for p in parts if p != "__init__")] = path
    return out


def layer(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import; the package uses absolute crpsmeta.* imports")
    return found


def test_every_module_sits_in_a_layer():
    unknown = {m for m in modules() if m != "crpsmeta" and layer(m) not in RANK}
    assert not unknown, f"add these to LAYERS (and to the map in crpsmeta/__init__.py): {sorted(unknown)}"


def test_no_module_imports_a_later_layer():
    known = modules()
    upward = []
    for module, path in known.items():
        if module == "crpsmeta":
            continue
        for target in imports(path):
            if target in known and target not in ("crpsmeta",) and RANK[layer(target)] > RANK[layer(module)]:
                upward.append(f"{module} imports {target}")
    assert not upward, upward


def test_matplotlib_only_in_figures():
    outside = [
        m
        for m, p in modules().items()
        if layer(m) != "figures" and any(t == "matplotlib" or t.startswith("matplotlib.") for t in imports(p))
    ]
    assert not outside, outside


@pytest.mark.parametrize("layer_name", ["inputs", "registry", "plan", "vocabulary", "formatting"])
def test_planning_layers_load_without_pymc_or_matplotlib(layer_name):
    """What the Snakefile loads to validate and plan must not pay for PyMC (about 2 s) or matplotlib."""
    names = [m for m in modules() if layer(m) == layer_name]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in ('pymc', 'pytensor', 'matplotlib') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", (names, done.stdout)
