"""House rules as tests: ruff clean, mypy clean, and the pure core never imports aws_cdk."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_core_never_imports_aws_cdk() -> None:
    offenders = []
    for path in sorted((ROOT / "constructs_lib").rglob("*.py")):
        rel = path.relative_to(ROOT / "constructs_lib")
        if rel.parts[0] == "constructs":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(
                n == "aws_cdk" or n.startswith(("aws_cdk.", "cdk_nag", "constructs_lib.constructs"))
                for n in names
            ):
                offenders.append(f"{rel}:{node.lineno}")
    assert offenders == [], f"aws_cdk imported outside constructs_lib/constructs: {offenders}"


@pytest.mark.slow
def test_ruff() -> None:
    paths = [p for p in ("constructs_lib", "tests", "app.py", "bench") if (ROOT / p).exists()]
    check = subprocess.run([str(BIN / "ruff"), "check", *paths], cwd=ROOT, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run(
        [str(BIN / "ruff"), "format", "--check", *paths], cwd=ROOT, capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


@pytest.mark.slow
def test_mypy() -> None:
    result = subprocess.run([str(BIN / "mypy"), "constructs_lib"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _absolute(importer: str, is_package: bool, level: int, module: str | None) -> str:
    """The absolute module a ``from <level dots><module> import ...`` in ``importer`` names (Python's rule:
    one dot is the importer's own package)."""
    if not level:
        return module or ""
    parts = importer.split(".") if is_package else importer.split(".")[:-1]
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _import_graph() -> dict[str, set[str]]:
    """``module -> constructs_lib modules it imports``, counting imports inside functions and excluding
    ``if TYPE_CHECKING:`` blocks (they never run)."""
    package = ROOT / "constructs_lib"
    modules: dict[str, Path] = {}
    for path in package.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if "scripts" in rel.parts:
            continue
        name = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.If)
                and isinstance(node.test, ast.Name)
                and node.test.id == "TYPE_CHECKING"
            ):
                node.body = []
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                graph[name].update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom):
                module = _absolute(name, is_package, node.level, node.module)
                for alias in node.names:
                    full = f"{module}.{alias.name}"
                    if full in modules:
                        graph[name].add(full)
                    elif module in modules and module != "constructs_lib":
                        graph[name].add(module)
    return graph


def test_the_import_graph_resolves_relative_and_package_imports() -> None:
    """The cycle check sees every spelling of an import: ``import a.b``, ``from a import b``, ``from a.b
    import name`` and relative imports (resolved as Python resolves them), in functions too."""
    graph = _import_graph()
    assert (
        "constructs_lib.limits" in graph["constructs_lib.definition"]
    )  # `from constructs_lib import limits`
    assert _absolute("constructs_lib.builders.base", False, 1, None) == "constructs_lib.builders"
    assert _absolute("constructs_lib.builders.base", False, 2, "config") == "constructs_lib.config"
    assert _absolute("constructs_lib.builders", True, 1, "base") == "constructs_lib.builders.base"
    assert _absolute("constructs_lib.builders", True, 2, None) == "constructs_lib"
    assert _absolute("constructs_lib.cache", False, 0, "constructs_lib.cachedir") == "constructs_lib.cachedir"


def test_no_import_cycles_in_constructs_lib() -> None:
    graph = _import_graph()
    assert "constructs_lib.builders.base" in graph and graph["constructs_lib.resolver"] == {
        "constructs_lib.errors",
        "constructs_lib.specs.base",
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)
