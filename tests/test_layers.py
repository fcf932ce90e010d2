"""The layer contract of docs/architecture.md: no module imports a layer above its own.

Every module under hub/, admin_ui/, connectors/ and plugins/ is parsed with ``ast``; every import counts,
wherever it stands: at the top, inside a function (a lazy import is still a dependency), and under
``if TYPE_CHECKING:`` (a type-only import still ties the lower layer to the higher one's names, and is
one edit away from a real import). A forbidden import is reported as ``file:line: module imports name
(layer a above layer b)``. The allowances below are the known exceptions, each with its reason; an
allowance that no longer matches anything fails too, so the list cannot go stale.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The layers, lowest first (docs/architecture.md). A module belongs to the longest prefix that names it.
LAYERS: dict[str, int] = {
    "hub.errors": 0, "hub.config": 0, "hub.hookspecs": 0, "hub.logs": 0, "hub.plugins": 0,
    "hub": 1, "hub.core": 1,  # hub/__init__.py (only it, not a package under hub/) is the kernel's face
    "hub.mappings": 2,
    "hub.sync": 3,
    "hub.services": 4,
    "hub.imports": 5, "hub.people": 5, "hub.finance": 5, "hub.demo": 5,
    "hub.sales": 5, "hub.service": 5, "hub.marketing": 5, "hub.analytics": 5, "hub.identity": 5,
    "hub.automation": 5, "hub.privacy": 5,
    "hub.root": 6,  # the composition root: builds the plugin manager and the store once, for the interfaces
    "hub.cli": 7, "hub.api": 7, "hub.app": 7, "admin_ui": 7,
}
NAMES = {0: "ground", 1: "kernel", 2: "mappings", 3: "sync", 4: "services", 5: "domains", 6: "root",
         7: "interfaces"}

# Loaded through hooks (plugin names given to the plugin manager), never imported by these layers.
PLUGGED = ("connectors", "plugins")
PLUGGED_BELOW = 4  # ground, kernel, mappings and sync
# Test support: servers that stand in for external systems, the connector contract suite. Only tests,
# bench, the demo and the connectors' own demo modules import it; no layer of hub/ does.
TEST_SUPPORT = "hub.testing"

# Known exceptions: (importing module, imported module) -> why it is allowed for now.
ALLOWANCES: dict[tuple[str, str], str] = {
    # none today: the beat tick runs the offboarding sweep through register_periodic_jobs
}


@dataclass(frozen=True)
class Violation:
    """One forbidden import: where it stands, who imports what, and the rule it breaks."""

    path: str
    line: int
    importer: str
    imported: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.importer} imports {self.imported} ({self.rule})"


def module_name(root: Path, path: Path) -> str:
    """The dotted name of the module in ``path`` (a package's __init__.py is the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(name: str) -> int | None:
    """The layer of a dotted module name under hub/ or admin_ui/ (None outside them, or unassigned)."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        found = LAYERS.get(prefix) if prefix != "hub" or name == "hub" else None
        if found is not None:
            return found
    return None


def imports(root: Path, path: Path, name: str, modules: set[str]) -> list[tuple[int, str]]:
    """Every module ``path`` imports, anywhere in it, as (line, dotted name), relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:  # ``from hub import config`` imports the module hub.config
                candidate = f"{base}.{alias.name}"
                found.append((node.lineno, candidate if candidate in modules else base))
    return found


def violations(root: Path, allowances: dict[tuple[str, str], str] | None = None) -> list[Violation]:
    """Every import in the tree under ``root`` that breaks the layer contract (minus ``allowances``)."""
    allowed = ALLOWANCES if allowances is None else allowances
    files = sorted(p for top in ("hub", "admin_ui", *PLUGGED) for p in (root / top).rglob("*.py")
                   if "__pycache__" not in p.parts)
    modules = {module_name(root, p) for p in files}
    found: list[Violation] = []
    for path in files:
        importer = module_name(root, path)
        if importer == TEST_SUPPORT or importer.startswith(TEST_SUPPORT + "."):
            continue
        own = layer(importer)
        if importer.split(".")[0] in ("hub", "admin_ui") and own is None:
            found.append(Violation(str(path.relative_to(root)), 1, importer, "-",
                                   "a module in no layer: add its package to LAYERS and docs/architecture.md"))
            continue
        for line, imported in sorted(set(imports(root, path, importer, modules))):
            rule = _broken_rule(importer, own, imported)
            if rule and (importer, imported) not in allowed:
                found.append(Violation(str(path.relative_to(root)), line, importer, imported, rule))
    return found


def _broken_rule(importer: str, own: int | None, imported: str) -> str | None:
    top = imported.split(".")[0]
    if own is None:  # connectors/ and plugins/ may import any layer of hub/
        return None
    if imported == TEST_SUPPORT or imported.startswith(TEST_SUPPORT + "."):
        return None if importer.split(".")[:2] == ["hub", "demo"] else "hub.testing is test support"
    if top in PLUGGED:
        return f"{top}/ is loaded through hooks" if own < PLUGGED_BELOW else None
    theirs = layer(imported) if top in ("hub", "admin_ui") else None
    if theirs is not None and theirs > own:
        return f"layer {NAMES[theirs]} above layer {NAMES[own]}"
    return None


def test_no_layer_imports_a_layer_above_it() -> None:
    found = violations(ROOT)
    assert not found, "imports against docs/architecture.md:\n" + "\n".join(map(str, found))


def test_every_allowance_is_still_needed() -> None:
    """An allowance whose import is gone is removed, so the list says what is still wrong."""
    used = {(v.importer, v.imported) for v in violations(ROOT, allowances={})}
    stale = [f"{a} -> {b}" for (a, b) in ALLOWANCES if (a, b) not in used]
    assert not stale, "allowances no longer needed: " + ", ".join(stale)


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


BASE = {"hub/__init__.py": "", "hub/core/__init__.py": "", "hub/sync/__init__.py": "",
        "hub/sync/runner.py": "", "hub/cli/__init__.py": "", "hub/people/__init__.py": "",
        "connectors/__init__.py": "", "connectors/shop.py": "import hub.sync.runner\n"}


@pytest.mark.parametrize(("source", "imported", "line"), [
    ("import hub.sync.runner\n", "hub.sync.runner", 1),
    ("from hub.sync import runner\n", "hub.sync.runner", 1),
    ("from ..sync.runner import X\n", "hub.sync.runner", 1),
    ("def later():\n    from hub.cli import main\n", "hub.cli", 2),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from hub.people import org\n", "hub.people", 3),
    ("import connectors.shop\n", "connectors.shop", 1),
    ("import hub.testing.scim_server\n", "hub.testing.scim_server", 1),
])
def test_the_check_fails_on_an_upward_import(tmp_path: Path, source: str, imported: str, line: int) -> None:
    """A kernel module importing sync, an interface, a domain, a connector or test support is named."""
    root = _tree(tmp_path, {**BASE, "hub/core/store.py": source})
    found = violations(root, allowances={})
    assert [str(v) for v in found] == [
        f"{Path('hub/core/store.py')}:{line}: hub.core.store imports {imported} ({found[0].rule})"]


def test_the_check_passes_downward_imports_and_honours_allowances(tmp_path: Path) -> None:
    root = _tree(tmp_path, {**BASE, "hub/cli/sync.py": "import hub.sync.runner\nimport connectors.shop\n",
                            "hub/sync/runner.py": "from hub.core import store\nimport hub.people\n",
                            "hub/core/store.py": ""})
    assert [v.imported for v in violations(root, allowances={})] == ["hub.people"]
    assert violations(root, allowances={("hub.sync.runner", "hub.people"): "a reason"}) == []


def test_the_check_names_a_package_in_no_layer(tmp_path: Path) -> None:
    root = _tree(tmp_path, {**BASE, "hub/gadgets/__init__.py": ""})
    assert [v.importer for v in violations(root, allowances={})] == ["hub.gadgets"]
