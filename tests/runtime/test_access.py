"""Run-time access: every call AWS makes when the example app's pipelines run must be allowed by the
synthesized policies (and an execution-parameter override outside the declared inputs must be denied).

The calls come from each synthesized template and AWS's documentation (``support/runtime_calls.py``), the
decisions from IAM's documented evaluation logic (``support/iam_eval.py``). A denied call is listed with its
role, action, resource, context and the nearest statement, by Sid, that almost allowed it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from support.runtime_calls import SOURCES, StackCalls, describe, stack_calls
from synth_support import Synth, fake_physical

from constructs_lib.constructs.pipeline import ROLE_NOT_MODIFIED_WARNING_ID

from .render_table import FULL_TABLE, readme_section, render, render_full


def test_every_stack_of_the_app_has_its_run_time_calls(
    runtime_app: dict[str, Synth], access: dict[str, StackCalls]
) -> None:
    assert set(access) == set(runtime_app) and len(access) >= 3
    for name, synth in runtime_app.items():
        if synth.resources("AWS::SageMaker::Pipeline"):
            steps = {c.step for c in access[name].calls}
            assert access[name].calls and steps, f"{name}: no run-time call derived from its pipeline"
    for sc in access.values():
        for call in sc.calls:
            assert call.source in SOURCES, f"{call} cites no documented source"


def test_run_time_calls_are_allowed(access: dict[str, StackCalls]) -> None:
    report, denied = [], 0
    for name, sc in access.items():
        results = [r for r in sc.results() if r.call.expect_allowed]
        bad = [r for r in results if not r.decision.allowed]
        denied += len(bad)
        report.append(f"{name}: {len(results)} calls checked, {len(bad)} denied")
        report += [describe(r.call, r.decision, sc.display) for r in bad]
    assert denied == 0, f"{denied} run-time calls would be denied in AWS:\n" + "\n".join(report)


def _without_assets_bucket_listing(template: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """``template`` with every ``s3:ListBucket`` statement on CDK's assets bucket removed: the first round's
    job role, which could get the code object but not list the code prefix."""
    template = copy.deepcopy(template)
    removed = 0
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        if resource["Type"] == "AWS::IAM::Policy":
            documents.append(props["PolicyDocument"])
        for document in documents:
            kept = []
            for statement in document["Statement"]:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                if "s3:ListBucket" in actions and "cdk-hnb659fds-assets" in json.dumps(statement["Resource"]):
                    removed += 1
                    continue
                kept.append(statement)
            document["Statement"] = kept
    return template, removed


def test_the_check_fails_on_the_first_rounds_assets_bucket_gap(runtime_app: dict[str, Synth]) -> None:
    """The check catches what it was written for: with the first round's policy (no ListBucket on the assets
    bucket) the seed DAG's processing steps cannot list their code input, and the check says so."""
    name = "ConstructsLibDagExample"
    template, removed = _without_assets_bucket_listing(runtime_app[name].json)
    assert removed == 1
    sc = stack_calls(name, template, fake_physical(template))
    denied = [r.call for r in sc.results() if r.call.expect_allowed and not r.decision.allowed]
    assert denied, "the check accepts a job role that cannot list its code"
    assert {(c.action, c.resource.split("/")[0]) for c in denied} == {
        ("s3:ListBucket", "arn:aws:s3:::cdk-hnb659fds-assets-123456789012-us-east-1")
    }
    assert {"data_load", "preprocess"} <= {c.step for c in denied}


def test_parameter_overrides_outside_the_declared_inputs_are_denied(access: dict[str, StackCalls]) -> None:
    overrides = [(sc, r) for sc in access.values() for r in sc.results() if not r.call.expect_allowed]
    assert overrides, "no execution parameter is used as an S3 input: the override check checks nothing"
    allowed = [describe(r.call, r.decision, sc.display) for sc, r in overrides if r.decision.allowed]
    assert not allowed, "an execution may read outside its declared input locations:\n" + "\n".join(allowed)


@pytest.mark.slow
def test_imported_job_roles_carry_the_role_not_modified_warning(
    access: dict[str, StackCalls], unacknowledged_warnings: dict[str, list[str]]
) -> None:
    """A role the template does not define cannot be checked here; the user must be told what it needs."""
    stacks = [name for name, sc in access.items() if sc.unverifiable()]
    assert stacks, "no example stack uses an imported role"
    for name in stacks:
        warnings = [w for w in unacknowledged_warnings.get(name, []) if ROLE_NOT_MODIFIED_WARNING_ID in w]
        assert warnings, (
            f"{name}: calls run as an imported role but the stack has no {ROLE_NOT_MODIFIED_WARNING_ID} warning"
        )
        assert "s3:GetObject" in warnings[0] and "ecr:BatchGetImage" in warnings[0]


def test_calls_under_imported_roles(access: dict[str, StackCalls]) -> None:
    skipped = {name: sc.unverifiable() for name, sc in access.items() if sc.unverifiable()}
    if not skipped:
        return
    reason = "; ".join(
        f"{name}: {len(calls)} calls as {sorted({c.principal for c in calls})} "
        f"({', '.join(sorted({c.action for c in calls}))})"
        for name, calls in skipped.items()
    )
    pytest.skip(f"not checkable from the template (imported, immutable role): {reason}")


def test_readme_table_is_what_the_call_list_produces(access: dict[str, StackCalls]) -> None:
    fresh = render(access)
    assert readme_section() == fresh, (
        "README.md's runtime-access section differs from the generated one; run "
        "`python tests/runtime/render_table.py --write`, or paste:\n\n" + fresh
    )


def test_full_table_is_what_the_call_list_produces(access: dict[str, StackCalls]) -> None:
    fresh = render_full(access)
    assert FULL_TABLE.read_text(encoding="utf-8") == fresh, (
        "docs/runtime-access.md differs from the generated one; run `python tests/runtime/render_table.py --write`"
    )
