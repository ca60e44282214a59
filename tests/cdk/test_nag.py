"""cdk-nag AwsSolutions: zero unacknowledged findings on every stack; every acknowledgment has a reason."""

from __future__ import annotations

import sys

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks
from synth_support import CONTEXT, Synth

from constructs_lib.constructs import ACKNOWLEDGED_FINDINGS


def _violations(stack: cdk.Stack) -> list[str]:
    report = AwsSolutionsChecks().validate_scope(stack)
    return sorted(
        f"{v.rule_name} at {[r.construct_path for r in v.violating_resources]}" for v in report.violations
    )


def test_no_unacknowledged_findings(any_stack: Synth) -> None:
    assert _violations(any_stack.stack) == []


def test_acknowledgments_carry_reasons(any_stack: Synth) -> None:
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    acks = {
        rule: reason
        for c in any_stack.stack.node.find_all()
        for e in c.node.metadata
        if e.type == key
        for rule, reason in dict(e.data).items()
    }
    for rule, reason in acks.items():
        assert len(str(reason)) > 40, (rule, reason)
    # nothing is acknowledged wholesale: every IAM5 acknowledgment names its finding
    assert not [r for r in acks if r.endswith("AwsSolutions-IAM5")]


def test_the_check_is_live() -> None:
    """GIVEN a role with an unacknowledged wildcard THEN the same check reports it."""
    app = cdk.App(context=CONTEXT)
    stack = cdk.Stack(app, "Control", env=cdk.Environment(region="us-east-1"))
    role = iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))
    assert [v for v in _violations(stack) if "AwsSolutions-IAM5[Resource::*]" in v]


def test_the_documented_list_covers_every_rule(any_stack: Synth) -> None:
    documented = {rule for f in ACKNOWLEDGED_FINDINGS for rule in f.rule.split(" / ")}
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    used = {
        rule.split("[", 1)[0]
        for c in any_stack.stack.node.find_all()
        for e in c.node.metadata
        if e.type == key
        for rule in dict(e.data)
        if rule.startswith("AwsSolutions-")
    }
    assert used <= documented


@pytest.mark.parametrize("finding", ACKNOWLEDGED_FINDINGS, ids=lambda f: f"{f.rule}:{f.where}")
def test_documented_findings_have_reasons(finding) -> None:  # type: ignore[no-untyped-def]
    assert finding.reason and finding.when and finding.where


def test_without_cdk_nag_the_error_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed without ``[nag]``: a ConfigError with the install line, not a bare ModuleNotFoundError."""
    from constructs_lib.constructs import add_aws_solutions_checks
    from constructs_lib.errors import ConfigError

    monkeypatch.setitem(sys.modules, "cdk_nag", None)  # what `import cdk_nag` finds when it is not installed
    with pytest.raises(ConfigError, match=r"cdk-nag is not installed.*pip install 'constructs_lib\[nag\]'"):
        add_aws_solutions_checks(cdk.App())
