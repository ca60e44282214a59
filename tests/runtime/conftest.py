"""One synthesis of the example app (``app.py``) per session, and its run-time call lists.

The synthesized templates are the only input: each stack's calls come from its template through
``support.runtime_calls``; every stack of the app is covered, including ones added later."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

CDK_TESTS = Path(__file__).resolve().parents[1] / "cdk"
if str(CDK_TESTS) not in sys.path:
    sys.path.insert(0, str(CDK_TESTS))

import aws_cdk as cdk  # noqa: E402
from support.runtime_calls import StackCalls, stack_calls  # noqa: E402
from synth_support import CONTEXT, Synth, fake_physical, load_app_module  # noqa: E402


@pytest.fixture(scope="session")
def runtime_app(example_app: dict[str, Synth]) -> dict[str, Synth]:
    """Every stack of ``app.py``, synthesized once per session (the root conftest's ``example_app``)."""
    return example_app


@pytest.fixture(scope="session")
def access(runtime_app: dict[str, Synth]) -> dict[str, StackCalls]:
    """The run-time calls of every stack, from its synthesized template."""
    return {name: stack_calls(name, s.json, fake_physical(s.json)) for name, s in sorted(runtime_app.items())}


@pytest.fixture(scope="session")
def unacknowledged_warnings(
    tmp_path_factory: pytest.TempPathFactory, staging_dir: Path
) -> dict[str, list[str]]:
    """The warnings of every stack of ``app.py`` before ``app.py`` acknowledges them.

    ``Annotations.acknowledge_warning`` removes a warning from the construct tree, so the synthesized app
    carries none; the app is built again (constructs only, no synthesis) with acknowledgements recorded
    instead of applied, and each stack's ``aws:cdk:warning`` entries are read from its constructs."""
    recorded: list[tuple[str, str | None]] = []

    def record(self: cdk.Annotations, id: str, message: str | None = None) -> None:
        recorded.append((id, message))

    patch = pytest.MonkeyPatch()
    patch.setattr(cdk.Annotations, "acknowledge_warning", record)
    try:
        app = cdk.App(outdir=str(tmp_path_factory.mktemp("runtime-warnings")), context=CONTEXT)
        load_app_module().build_app(app, environ={})
    finally:
        patch.undo()
    return {
        stack.stack_name: [
            str(entry.data)
            for c in stack.node.find_all()
            for entry in c.node.metadata
            if entry.type == "aws:cdk:warning"
        ]
        for stack in app.node.children
        if isinstance(stack, cdk.Stack)
    }
