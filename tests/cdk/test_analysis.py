"""Pure helpers of the construct layer: definition analysis and the CloudFormation resolver."""

from __future__ import annotations

import pytest

from constructs_lib.constructs import analysis
from constructs_lib.constructs.intrinsics import Physical, resolve
from constructs_lib.constructs.nag import flatten_cfn_reference
from constructs_lib.errors import ConfigError, SynthError


def test_ecr_repositories_from_every_image_key() -> None:
    definition = {
        "Steps": [
            {
                "Type": "Training",
                "Arguments": {
                    "AlgorithmSpecification": {
                        "TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:1.13.1-gpu-py39"
                    }
                },
            },
            {
                "Type": "Processing",
                "Arguments": {
                    "AppSpecification": {
                        "ImageUri": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
                    }
                },
            },
            {
                "Type": "Model",
                "Arguments": {
                    "PrimaryContainer": {
                        "Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference@sha256:"
                        + "a" * 64
                    }
                },
            },
        ]
    }
    assert analysis.ecr_repositories(definition) == (
        analysis.EcrRepository("683313688378", "us-east-1", "sagemaker-scikit-learn"),
        analysis.EcrRepository("763104351884", "us-east-1", "pytorch-inference"),
        analysis.EcrRepository("763104351884", "us-east-1", "pytorch-training"),
    )


def test_non_ecr_image_is_refused() -> None:
    with pytest.raises(SynthError, match="ECR"):
        analysis.ecr_repositories({"Steps": [{"Arguments": {"Image": "docker.io/library/python:3.11"}}]})


def test_job_kinds_include_condition_branches_and_refuse_unknown_types() -> None:
    definition = {
        "Steps": [
            {
                "Name": "c",
                "Type": "Condition",
                "Arguments": {
                    "IfSteps": [{"Name": "t", "Type": "Training"}],
                    "ElseSteps": [{"Name": "f", "Type": "Fail"}],
                },
            },
        ]
    }
    assert [k.step_type for k in analysis.job_kinds(definition)] == ["Training"]
    with pytest.raises(SynthError, match="EMR") as info:
        analysis.job_kinds({"Steps": [{"Name": "e", "Type": "EMR"}]})
    assert info.value.step == "e"


def test_parse_s3_uri() -> None:
    assert analysis.parse_s3_uri("s3://b/k/x/") == analysis.S3Location("b", "k/x/")
    assert analysis.parse_s3_uri("s3://b") == analysis.S3Location("b", "")
    with pytest.raises(SynthError):
        analysis.parse_s3_uri("https://b/k")


def test_parameter_default_reads() -> None:
    definition = {
        "Parameters": [
            {"Name": "A", "Type": "String", "DefaultValue": "s3://b/in/"},
            {"Name": "B", "Type": "String", "DefaultValue": "not-s3"},
            {"Name": "C", "Type": "Integer", "DefaultValue": 3},
        ]
    }
    assert analysis.parameter_default_reads(definition) == ("s3://b/in/",)


def test_codeartifact_repositories_are_parsed_and_deduplicated() -> None:
    arn = "arn:aws:codeartifact:us-east-1:123456789012:repository/my-domain/my-repo"
    repos = analysis.codeartifact_repositories(
        {"a": {"CA_REPOSITORY_ARN": arn}, "b": {"CA_REPOSITORY_ARN": arn}, "c": {}}
    )
    assert [r.repository_arn for r in repos] == [arn]
    assert repos[0].domain_arn == "arn:aws:codeartifact:us-east-1:123456789012:domain/my-domain"
    with pytest.raises(ConfigError):
        analysis.codeartifact_repositories({"a": {"CA_REPOSITORY_ARN": "nope"}})


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
