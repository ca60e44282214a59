"""The README stays true: its Python examples run, its shell commands run, its Mermaid diagram and its
cdk-nag table are what the code produces, and the files of "Use it in your own repository" (fences
```` ```python file=app.py ````) make a repository whose ``cdk synth`` and tests pass.
``python tests/test_readme.py`` rewrites the generated parts."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

_FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
#: A file of the README's example repository: ```` ```<lang> file=<path> ```` (not run as a Python block).
_FILE_FENCE = re.compile(r"^```(\w+) file=(\S+)\n(.*?)^```", re.S | re.M)


def blocks(lang: str) -> list[str]:
    return [body for kind, body in _FENCE.findall(README.read_text(encoding="utf-8")) if kind == lang]


def file_blocks() -> dict[str, str]:
    """``{relative path: content}`` of the README's example-repository files."""
    found: dict[str, str] = {}
    for _kind, path, body in _FILE_FENCE.findall(README.read_text(encoding="utf-8")):
        assert path not in found, f"README names {path} twice"
        found[path] = body
    return found


def nag_table() -> str:
    from constructs_lib.constructs import ACKNOWLEDGED_FINDINGS

    lines = ["| rule | finding | where | when | why it is acceptable |", "| --- | --- | --- | --- | --- |"]
    for f in ACKNOWLEDGED_FINDINGS:
        applies = f"`{f.applies_to}`" if f.applies_to else "(whole rule)"
        lines.append(f"| `{f.rule}` | {applies} | {f.where} | {f.when} | {f.reason} |")
    return "\n".join(lines) + "\n"


def _between(text: str, name: str) -> str:
    start, end = f"<!-- {name}:start -->\n", f"<!-- {name}:end -->"
    return text[text.index(start) + len(start) : text.index(end)]


def _replace_between(text: str, name: str, body: str) -> str:
    start, end = f"<!-- {name}:start -->\n", f"<!-- {name}:end -->"
    return text[: text.index(start) + len(start)] + body + text[text.index(end) :]


@pytest.fixture(scope="module")
def namespace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run every Python block of the README in order, in one namespace (later blocks use earlier names)."""
    ns: dict[str, Any] = {"__name__": "readme"}
    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("readme"))
    try:
        for i, body in enumerate(blocks("python")):
            exec(compile(body, f"README.md python block {i + 1}", "exec"), ns)
    finally:
        os.chdir(cwd)
    return ns


@pytest.mark.slow
def test_python_examples_run(namespace: dict[str, Any]) -> None:
    assert len(blocks("python")) >= 4
    from sagemaker.workflow.pipeline import Pipeline
    from sagemaker.workflow.steps import TrainingStep

    assert isinstance(namespace["training_step"], TrainingStep)
    assert isinstance(namespace["pipeline"], Pipeline)
    assert namespace["result"].succeeded


def test_mermaid_block_is_what_the_template_renders() -> None:
    from constructs_lib.examples import seed_dag_template

    (diagram,) = blocks("mermaid")
    assert diagram == seed_dag_template().to_mermaid("my-pipeline")


def test_nag_table_matches_the_code() -> None:
    assert _between(README.read_text(encoding="utf-8"), "nag-findings") == nag_table()


@pytest.mark.slow
def test_shell_commands_run(tmp_path: Path) -> None:
    commands = [
        line.split("#", 1)[0].strip()
        for body in blocks("bash")
        for line in body.splitlines()
        if line.startswith("python -m constructs_lib")
    ]
    assert any("local-run" in c for c in commands) and any("graph" in c for c in commands)
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    for command in commands:
        argv = [sys.executable, *shlex.split(command)[1:]]
        result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"


CDK = ROOT / "node_modules" / ".bin" / "cdk"


@pytest.mark.slow
@pytest.mark.skipif(not CDK.exists() or shutil.which("node") is None, reason="npm ci has not been run")
def test_the_example_repository_synthesizes_and_its_tests_pass(tmp_path: Path) -> None:
    """GIVEN the files of "Use it in your own repository" in an empty directory
    WHEN the CDK CLI synthesizes it (its cdk.json) and its own tests run (snapshot written, then checked)
    THEN all of it passes, and the definition sends the user's ``l2_penalty`` and none of the reference
    model's knobs."""
    from support.netguard import guarded_env

    from constructs_lib.testing import template_snapshot

    files = file_blocks()
    assert {"app.py", "cdk.json", "training/train.py", "tests/test_snapshot.py"} <= set(files)
    repo = tmp_path / "my-ml-platform"
    for name, body in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(body, encoding="utf-8")
    env = guarded_env()
    env.update(
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
        PYTHONPATH=os.pathsep.join(p for p in (env.get("PYTHONPATH", ""), str(ROOT)) if p),
        CDK_DISABLE_CLI_TELEMETRY="true",
        CDK_DISABLE_VERSION_CHECK="true",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        CONSTRUCTS_LIB_STAGING_DIR=str(tmp_path / "staging"),
    )

    def run(argv: list[str]) -> None:
        proc = subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{argv}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"

    run([str(CDK), "synth", "--quiet", "--no-notices"])
    snap = template_snapshot(repo / "cdk.out" / "ChurnTraining.template.json")
    (pipe,) = [r for r in snap["Resources"].values() if r["Type"] == "AWS::SageMaker::Pipeline"]
    (step,) = pipe["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]["Steps"]
    sent = step["Arguments"]["HyperParameters"]
    assert sent["l2_penalty"] == "0.01" and not {"dropout", "hidden_dims", "embedding_dim", "seed"} & set(
        sent
    )

    run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--snapshot-update"])
    assert list((repo / "tests" / "__snapshots__").rglob("*.json"))
    run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_snapshot.py"])  # checked


def test_two_commands_are_the_makefile_targets() -> None:
    (first, *_) = blocks("bash")
    assert "make synth" in first and "make test" in first
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^synth: install$", makefile, re.M) and re.search(r"^test: install$", makefile, re.M)
    assert (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().endswith("make test")


if __name__ == "__main__":
    README.write_text(_replace_between(README.read_text(encoding="utf-8"), "nag-findings", nag_table()))
    print("README.md: nag-findings table rewritten")


def test_two_commands_lists_every_example_stack(example_app: dict[str, Any]) -> None:
    """The README's paragraph on ``make synth`` names exactly the stacks ``app.py`` synthesizes."""
    text = README.read_text(encoding="utf-8")
    paragraph = text[text.index("`make synth` writes") : text.index("The region comes from the context key")]
    named = set(re.findall(r"`(ConstructsLib\w+)`", paragraph))
    assert named == set(example_app)
