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
