"""Imports only go downward (docs/architecture.md), checked on the source with ``ast``.

Every module under ``src/opencode_python`` is parsed; every import in it counts,
including imports inside functions and under ``if TYPE_CHECKING:``. A module may
import its own sub-package and sub-packages of lower layers, never a higher one.
``testing`` may import anything below ``sdk``, and nothing outside ``testing`` may
import it. The package root is the public face: it may import every layer up to
``sdk``, and only ``cli``/``server`` may import it back.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = "opencode_python"
SOURCE = Path(__file__).resolve().parent.parent / "src" / PACKAGE

# Sub-package → layer. A new sub-package must be placed here (and in
# docs/architecture.md) before the test passes.
LAYERS: dict[str, float] = {
    "core": 1,
    "storage": 2,
    "permissions": 2,
    "config": 2,
    "providers": 3,
    "tools": 3,
    "context": 4,
    "skills": 4,
    "memory": 4,
    "commands": 4,
    "mcp": 4,
    "agents": 5,
    "sdk": 6,
    "cli": 7,
    "server": 7,
    # Shipped for users' tests: may use everything below sdk, and nothing uses it.
    "testing": 5.5,
}
ROOT = "<root>"  # the package's own __init__: the public face
ROOT_LAYER = 6.5  # above sdk (it re-exports it), below cli and server
TESTING = "testing"


@dataclass(frozen=True, slots=True)
class Violation:
    path: str
    line: int
    importer: str
    imported: str
    statement: str

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line}: {self.importer} ({_describe(self.importer)}) imports "
            f"{self.imported} ({_describe(self.imported)}): {self.statement}"
        )


def _layer(unit: str) -> float:
    return ROOT_LAYER if unit == ROOT else LAYERS[unit]


def _describe(unit: str) -> str:
    if unit == ROOT:
        return "the package root"
    return f"layer {LAYERS[unit]:g}" if unit != TESTING else "the testing kit"


def module_name(path: Path, source_root: Path) -> str:
    """``src/opencode_python/tools/executor.py`` → ``opencode_python.tools.executor``."""
    parts = list(path.relative_to(source_root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _unit(module: str, source_root: Path) -> str | None:
    """The sub-package a module belongs to, ``ROOT`` for the package itself, None if
    the module is not ours."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    if len(parts) == 1:
        return ROOT
    if (source_root / parts[1]).is_dir():
        return parts[1]
    return ROOT  # a module directly in the package root


def import_targets(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, source_root: Path
) -> list[str]:
    """The sub-packages (or ``ROOT``) an import statement reaches, relative imports
    resolved. ``from opencode_python import core`` reaches ``core``;
    ``from opencode_python import Tool`` reaches the root face."""
    if isinstance(node, ast.Import):
        units = [_unit(alias.name, source_root) for alias in node.names]
        return [unit for unit in units if unit is not None]
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        if node.level > 1:
            package = package[: -(node.level - 1)]
        base = ".".join([*package, node.module] if node.module else package)
    else:
        base = node.module or ""
    if base != PACKAGE:
        unit = _unit(base, source_root)
        return [] if unit is None else [unit]
    return [
        _unit(f"{PACKAGE}.{alias.name}", source_root) or ROOT
        for alias in node.names
        if alias.name != "*"
    ] or [ROOT]


def find_violations(source_root: Path) -> tuple[list[Violation], list[str]]:
    """Layering violations, and sub-packages missing from ``LAYERS``."""
    violations: list[Violation] = []
    unknown = sorted(
        child.name
        for child in source_root.iterdir()
        if child.is_dir() and (child / "__init__.py").exists() and child.name not in LAYERS
    )
    for path in sorted(source_root.rglob("*.py")):
        module = module_name(path, source_root)
        importer = _unit(module, source_root)
        if importer is None or (importer != ROOT and importer not in LAYERS):
            continue  # an unknown sub-package: reported above
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            targets = import_targets(node, module, path.name == "__init__.py", source_root)
            for imported in dict.fromkeys(targets):
                if imported == importer or (imported != ROOT and imported not in LAYERS):
                    continue
                if _allowed(importer, imported):
                    continue
                violations.append(
                    Violation(
                        path=path.relative_to(source_root.parent.parent).as_posix(),
                        line=node.lineno,
                        importer=importer,
                        imported=imported,
                        statement=ast.unparse(node),
                    )
                )
    return violations, unknown


def _allowed(importer: str, imported: str) -> bool:
    if imported == TESTING:
        return False  # only testing itself, handled by the caller
    return _layer(imported) <= _layer(importer)


# --- tests -------------------------------------------------------------------------


def test_imports_only_go_downward() -> None:
    violations, unknown = find_violations(SOURCE)
    assert not unknown, (
        f"sub-packages with no layer: {unknown}; add them to LAYERS in tests/test_layers.py "
        "and to the table in docs/architecture.md"
    )
    assert not violations, "imports that go up a layer:\n" + "\n".join(f"  {v}" for v in violations)


def test_the_checker_catches_upward_imports(tmp_path: Path) -> None:
    """The check is not vacuous: a fake package with every kind of violation fails it."""
    root = tmp_path / "src" / PACKAGE
    files = {
        "__init__.py": "from .sdk import Client\nfrom .cli import app\n",
        "core/__init__.py": "",
        "core/models.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from ..agents.agent import Agent\n"
        ),
        "tools/__init__.py": "",
        "tools/framework.py": "\n".join(
            ["from ..core import models", "def later():", "    import opencode_python.sdk.client"]
        ),
        "storage/__init__.py": "from . import store\nfrom .. import Tool\n",
        "storage/store.py": "from opencode_python import core\nimport opencode_python.tools\n",
        "agents/__init__.py": "from ..testing import ScriptedProvider\n",
        "sdk/__init__.py": "from ..agents import Agent\nfrom ..tools import framework\n",
        "cli/__init__.py": "from .. import Client\nfrom ..sdk import Client\n",
        "testing/__init__.py": "from ..agents import Agent\nfrom ..sdk import Client\n",
        "widgets/__init__.py": "",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    violations, unknown = find_violations(root)
    found = sorted((v.path, v.line, v.imported) for v in violations)
    assert unknown == ["widgets"]
    assert found == [
        ("src/opencode_python/__init__.py", 2, "cli"),
        ("src/opencode_python/agents/__init__.py", 1, "testing"),
        ("src/opencode_python/core/models.py", 3, "agents"),
        ("src/opencode_python/storage/__init__.py", 2, ROOT),
        ("src/opencode_python/storage/store.py", 2, "tools"),
        ("src/opencode_python/testing/__init__.py", 2, "sdk"),
        ("src/opencode_python/tools/framework.py", 3, "sdk"),
    ]


@pytest.mark.parametrize(
    ("module", "is_package", "source", "expected"),
    [
        ("opencode_python.tools.executor", False, "from ..core.errors import X", ["core"]),
        ("opencode_python.tools", True, "from ..core.errors import X", ["core"]),
        ("opencode_python.tools", True, "from .framework import Tool", ["tools"]),
        ("opencode_python.sdk.client", False, "from ..core import events as ev", ["core"]),
        ("opencode_python.cli.app", False, "from .. import VERSION", [ROOT]),
        ("opencode_python.cli.app", False, "from .. import sdk, Tool", ["sdk", ROOT]),
        ("opencode_python.cli.app", False, "import opencode_python.sdk.client", ["sdk"]),
        ("opencode_python.cli.app", False, "import opencode_python", [ROOT]),
        ("opencode_python.cli.app", False, "import json", []),
    ],
)
def test_imports_are_resolved(
    module: str, is_package: bool, source: str, expected: list[str]
) -> None:
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.Import | ast.ImportFrom)
    assert import_targets(node, module, is_package, SOURCE) == expected
