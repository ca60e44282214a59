"""Declared input locations: an execution may override its input parameters to a location the construct
declared (``input_locations``), and IAM allows exactly that; anywhere else is denied. Evidence from an IAM
evaluation of the synthesized policies (``tests/support/iam_eval.py``)."""

from __future__ import annotations

import pytest
from support.iam_eval import Request, evaluate
from support.runtime_calls import Call, StackCalls, stack_calls
from synth_support import INPUTS_PIPELINE, Synth, fake_physical

from constructs_lib.constructs import SageMakerPipeline
from constructs_lib.errors import ConfigError
from constructs_lib.examples import seed_dag_template

PIPELINE = INPUTS_PIPELINE


@pytest.fixture(scope="session")
def calls(with_inputs: Synth) -> StackCalls:
    return stack_calls("InputLocations", with_inputs.json, fake_physical(with_inputs.json))


def _job_role(calls: StackCalls) -> str:
    (role,) = [c.principal for c in calls.calls if c.step == "data_load" and c.action == "s3:PutObject"]
    return role


def _allowed(calls: StackCalls, action: str, resource: str, **context: str) -> bool:
    call = Call("InputLocations", "data_load", _job_role(calls), action, resource, tuple(context.items()))
    return calls.decide(call).allowed


def test_overrides_inside_declared_locations_are_allowed(calls: StackCalls) -> None:
    # RawDataS3Uri=s3://landing-zone/customers/2026-12/
    assert _allowed(
        calls, "s3:ListBucket", "arn:aws:s3:::landing-zone", **{"s3:prefix": "customers/2026-12/"}
    )
    assert _allowed(calls, "s3:GetObject", "arn:aws:s3:::landing-zone/customers/2026-12/part-0.csv")
    assert _allowed(calls, "s3:ListBucket", "arn:aws:s3:::team-data-lake", **{"s3:prefix": "curated/x/"})
    assert _allowed(calls, "s3:GetObject", "arn:aws:s3:::team-data-lake/curated/x/part-0.parquet")
    # the bucket's known KMS key may decrypt what it reads (the imported key's own policy is not in the
    # template: the identity side is what the construct controls)
    key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    principal = calls.principals[_job_role(calls)]
    assert principal.identity is not None
    decision = evaluate(Request(_job_role(calls), "kms:Decrypt", key_arn), identity=principal.identity)
    assert decision.allowed, decision.describe()


def test_overrides_outside_them_are_denied(calls: StackCalls) -> None:
    assert not _allowed(calls, "s3:ListBucket", "arn:aws:s3:::landing-zone", **{"s3:prefix": "finance/"})
    assert not _allowed(calls, "s3:GetObject", "arn:aws:s3:::landing-zone/finance/salaries.csv")
    assert not _allowed(calls, "s3:GetObject", "arn:aws:s3:::team-data-lake/raw/x.csv")
    assert not _allowed(calls, "s3:GetObject", "arn:aws:s3:::some-other-bucket/customers/x.csv")
    # and nothing is writable there
    assert not _allowed(calls, "s3:PutObject", "arn:aws:s3:::landing-zone/customers/out.csv")


def test_every_default_run_time_call_is_still_allowed(calls: StackCalls) -> None:
    denied = [r.call for r in calls.results() if r.call.expect_allowed and not r.decision.allowed]
    assert denied == []


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("s3://landing-zone", None),
        (["https://x/y"], "input_locations[0]"),
        (["s3://Bad_Bucket/x"], "input_locations[0]"),
        ([3], "input_locations[0]"),
    ],
)
def test_bad_input_locations_are_named(value: object, field: str | None) -> None:
    import aws_cdk as cdk

    app = cdk.App()
    stack = cdk.Stack(app, "S", env=cdk.Environment(region="us-east-1"))
    with pytest.raises(ConfigError) as info:
        SageMakerPipeline(stack, "P", template=seed_dag_template(), pipeline_name="p", input_locations=value)  # type: ignore[arg-type]
    assert info.value.field == (field or "input_locations")
