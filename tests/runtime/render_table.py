"""The README's "Run-time access" table, generated from the run-time call list of every example stack.

``python tests/runtime/render_table.py`` synthesizes ``app.py`` (offline), prints the section that belongs
between ``<!-- runtime-access:start -->`` and ``<!-- runtime-access:end -->``; ``--write`` rewrites it in
README.md (only the text between the markers changes). ``tests/runtime/test_access.py`` fails while the
README differs from what this prints.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT / "tests", ROOT / "tests" / "cdk"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from support.runtime_calls import SOURCES, StackCalls  # noqa: E402

README = ROOT / "README.md"
#: Every stack's calls (the README shows the seed DAG's, which has every kind of step of the seed).
FULL_TABLE = ROOT / "docs" / "runtime-access.md"
#: The stack whose calls the README shows.
README_STACK = "ConstructsLibDagExample"
START, END = "<!-- runtime-access:start -->\n", "<!-- runtime-access:end -->"

INTRO = """\
Each row is a call that AWS makes when the example stacks run: SageMaker Pipelines as the pipeline role,
the SageMaker jobs as their role (`app.py`'s stacks, synthesized; calls derived from the synthesized template
and AWS's documentation by `tests/support/runtime_calls.py`). `tests/runtime/test_access.py` evaluates each
one with IAM's documented evaluation logic (`tests/support/iam_eval.py`) against the template's policies and
the CDK bootstrap bucket's policy, and fails on any call that would be denied; an execution-parameter
override outside the declared input locations must be denied. Generated names are examples: execution
`8d0j7ogwl3gl`, jobs `pipelines-<execution>-<step>-<suffix>`; `<Name>` is a resource of the stack.
`python tests/runtime/render_table.py --write` regenerates this section and `docs/runtime-access.md`.

Not checked: calls under an imported role (its policies are not in the template), the account's SCPs and
permission boundaries, the AWS-owned image repositories' policies, and the AWS managed `aws/s3` key of the
CDK assets bucket (its key policy allows the account's principals through S3)."""

HEADER = (
    "| stack | step | role | calls | resource (context) | allowed by |\n| --- | --- | --- | --- | --- | --- |"
)


def _short(label: str) -> str:
    """A logical id without the CDK's 8-character hash suffix."""
    return re.sub(r"[0-9A-F]{8}$", "", label)


def rows(access: Mapping[str, StackCalls]) -> list[str]:
    """One row per (stack, step, role, resource, context, verdict); the actions of a row are joined."""
    grouped: dict[tuple[str, ...], list[str]] = {}
    for stack, sc in access.items():
        skipped = set(sc.unverifiable())
        for call in sc.calls:
            principal = sc.principals.get(call.principal)
            role = (
                _short(principal.label)
                if principal is not None and principal.identity is not None
                else sc.display(call.principal)
            )
            if call in skipped:
                verdict = "not checkable: imported role (`constructs_lib:role-not-modified`)"
            else:
                decision = sc.decide(call)
                if decision.allowed and call.expect_allowed:
                    verdict = ", ".join(
                        f"`{s.sid or '(no Sid)'}` ({_short(s.source.split('/', 1)[-1].split('/', 1)[0])})"
                        for s in decision.deciding
                    )
                elif not decision.allowed and not call.expect_allowed:
                    verdict = "denied, as required"
                elif call.expect_allowed:
                    nearest = decision.nearest.statement.sid if decision.nearest is not None else "none"
                    verdict = f"**DENIED** (nearest: `{nearest}`)"
                else:
                    verdict = "**ALLOWED**, must be denied"
            context = ", ".join(f"{k}={v if isinstance(v, str) else list(v)}" for k, v in call.context)
            resource = sc.display(call.resource) + (f" ({sc.display(context)})" if context else "")
            key = (stack, call.step or "-", role, resource, verdict)
            grouped.setdefault(key, [])
            if call.action not in grouped[key]:
                grouped[key].append(call.action)
    lines = []
    for (stack, step, role, resource, verdict), actions in grouped.items():
        cells = [
            f"`{stack}`",
            f"`{step}`",
            f"`{role}`",
            ", ".join(f"`{a}`" for a in actions),
            f"`{resource}`",
            verdict,
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def sources_used(access: Mapping[str, StackCalls]) -> list[str]:
    keys = sorted({c.source for sc in access.values() for c in sc.calls if c.source})
    return [f"- {SOURCES[k][0]}: {SOURCES[k][1]}" for k in keys]


def render(access: Mapping[str, StackCalls]) -> str:
    """The README section between the markers: the seed DAG's calls (every stack's: :func:`render_full`)."""
    shown = {README_STACK: access[README_STACK]}
    others = ", ".join(f"`{name}`" for name in access if name != README_STACK)
    body = [
        INTRO,
        "",
        f"The table shows `{README_STACK}`; the test checks every stack ({others} too), and",
        "[`docs/runtime-access.md`](docs/runtime-access.md) lists all of their calls.",
        "",
        HEADER,
        *rows(shown),
        "",
        "Sources of the calls:",
        "",
        *sources_used(access),
    ]
    return "\n".join(body) + "\n"


def render_full(access: Mapping[str, StackCalls]) -> str:
    """``docs/runtime-access.md``: every stack's calls."""
    body = [
        "# Run-time access of every example stack",
        "",
        "<!-- generated by `python tests/runtime/render_table.py --write`; checked by tests/runtime/test_access.py -->",
        "",
        INTRO,
        "",
        HEADER,
        *rows(access),
        "",
        "Sources of the calls:",
        "",
        *sources_used(access),
    ]
    return "\n".join(body) + "\n"


def readme_section(text: str | None = None) -> str:
    text = README.read_text(encoding="utf-8") if text is None else text
    if START not in text or END not in text:
        return ""
    return text[text.index(START) + len(START) : text.index(END)]


def replace_section(text: str, body: str) -> str:
    return text[: text.index(START) + len(START)] + body + text[text.index(END) :]


def synthesize() -> dict[str, StackCalls]:
    """Synthesize ``app.py`` offline into a temporary directory; the run-time calls of every stack."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    import aws_cdk as cdk
    from support.runtime_calls import stack_calls
    from synth_support import CONTEXT, fake_physical, load_app_module, synth_app

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CONSTRUCTS_LIB_STAGING_DIR"] = str(Path(tmp) / "staging")
        app = cdk.App(outdir=str(Path(tmp) / "out"), context=CONTEXT)
        load_app_module().build_app(app, environ={})
        names = [c.node.id for c in app.node.children if isinstance(c, cdk.Stack)]
        synths = synth_app(app, dict.fromkeys(names))
        return {name: stack_calls(name, s.json, fake_physical(s.json)) for name, s in sorted(synths.items())}


def main(argv: list[str]) -> int:
    access = synthesize()
    section = render(access)
    if "--write" in argv:
        text = README.read_text(encoding="utf-8")
        if START not in text:
            print(f"README.md has no {START.strip()} marker", file=sys.stderr)
            return 1
        README.write_text(replace_section(text, section), encoding="utf-8")
        FULL_TABLE.parent.mkdir(parents=True, exist_ok=True)
        FULL_TABLE.write_text(render_full(access), encoding="utf-8")
        print("README.md: runtime-access section rewritten; docs/runtime-access.md written")
    else:
        print(section, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
