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
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                graph[name].update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    if full in modules:
                        graph[name].add(full)
                    elif node.module in modules and node.module != "constructs_lib":
                        graph[name].add(node.module)
    return graph


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
