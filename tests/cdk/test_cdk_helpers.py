"""Helpers of the construct layer: the resource-type -> action table, the CloudFormation resolver and
cdk-nag's reference flattening."""

from __future__ import annotations

import pytest
from support.intrinsics import Physical, resolve

from constructs_lib.constructs.nag import flatten_cfn_reference
from constructs_lib.constructs.policies import RESOURCE_ACTIONS, ordered_kinds
from constructs_lib.errors import SynthError


def test_every_resource_type_maps_to_actions_and_unknown_ones_are_refused() -> None:
    assert ordered_kinds(["model", "training-job", "processing-job"]) == [
        "training-job",
        "processing-job",
        "model",
    ]
    with pytest.raises(SynthError, match="no IAM mapping") as info:
        ordered_kinds(["emr-cluster"])
    assert info.value.value == ["emr-cluster"]
    assert set(RESOURCE_ACTIONS) >= {"training-job", "processing-job", "model", "transform-job"}


def test_resolver_handles_the_intrinsics_cdk_emits() -> None:
    physical = Physical(
        refs={"Bucket": "my-bucket"},
        attribute=lambda logical, attr: f"arn:aws:iam::123456789012:role/{logical}" if attr == "Arn" else "",
        region="eu-west-1",
        account="123456789012",
    )
    value = {
        "Fn::Join": [
            "",
            [
                "s3://",
                {"Ref": "Bucket"},
                "/",
                {"Fn::Sub": "cdk-${AWS::AccountId}-${AWS::Region}-${!Literal}"},
                "|",
                {"Fn::GetAtt": ["Role", "Arn"]},
                "|",
                {"Fn::Select": [1, ["a", {"Ref": "AWS::Partition"}]]},
            ],
        ]
    }
    assert resolve(value, physical) == (
        "s3://my-bucket/cdk-123456789012-eu-west-1-${Literal}|arn:aws:iam::123456789012:role/Role|aws"
    )
    with pytest.raises(SynthError):
        resolve({"Ref": "Missing"}, physical)
    with pytest.raises(SynthError):
        resolve({"Fn::If": ["c", 1, 2]}, physical)


def test_flatten_matches_cdk_nag() -> None:
    value = {"Fn::Join": ["", [{"Fn::GetAtt": ["B1", "Arn"]}, "/x/*"]]}
    assert flatten_cfn_reference(value) == "<B1.Arn>/x/*"
    assert flatten_cfn_reference({"Fn::Sub": "a-${AWS::Region}"}) == "a-<AWS::Region>"
    assert flatten_cfn_reference({"Ref": "AWS::Partition"}) == "<AWS::Partition>"
