"""The production settings through the construct: VPC (tokens in the definition, ENI permissions limited to
the subnets), KMS keys (volume grants for AWS resources only, output key through S3), tags, parallelism,
build warnings as annotations, and clear errors for invalid combinations. The run-time access test
(``tests/runtime``) evaluates every call of the production example against these policies."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Annotations, Match
from synth_support import ACCOUNT, REGION, Synth, by_sid, policy_statements

from constructs_lib.constructs import SageMakerPipeline
from constructs_lib.errors import ConfigError
from constructs_lib.examples import seed_dag_template


def test_jobs_run_in_the_vpc_with_the_created_security_group(production_example: Synth) -> None:
    definition = production_example.definition()
    sg_logical, sg = production_example.one("AWS::EC2::SecurityGroup")
    assert sg["Properties"]["SecurityGroupEgress"] == [
        {"CidrIp": "0.0.0.0/0", "Description": "Allow all outbound traffic by default", "IpProtocol": "-1"}
    ]
    (_, ingress) = production_example.one("AWS::EC2::SecurityGroupIngress")
    assert ingress["Properties"]["SourceSecurityGroupId"] == {"Fn::GetAtt": [sg_logical, "GroupId"]}
    sg_id = f"phys-{sg_logical.lower()}-groupid"
    subnets = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
    steps = {s["Name"]: s["Arguments"] for s in definition["Steps"]}
    assert steps["train"]["VpcConfig"] == {"SecurityGroupIds": [sg_id], "Subnets": subnets}
    assert steps["data_load"]["NetworkConfig"]["VpcConfig"] == {
        "SecurityGroupIds": [sg_id],
        "Subnets": subnets,
    }
    assert steps["data_load"]["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert steps["train"]["EnableInterContainerTrafficEncryption"] is True
    assert steps["train"]["EnableManagedSpotTraining"] is True
    assert steps["train"]["CheckpointConfig"]["LocalPath"] == "/opt/ml/checkpoints"
    assert steps["model-CreateModel"]["VpcConfig"]["Subnets"] == subnets
    assert {p["Name"] for p in definition["Parameters"]} >= {"trainInstanceType", "trainInstanceCount"}
    (_, pipe) = production_example.one("AWS::SageMaker::Pipeline")
    assert pipe["Properties"]["ParallelismConfiguration"] == {"MaxParallelExecutionSteps": 2}


def test_eni_permissions_are_limited_to_the_subnets(production_example: Synth) -> None:
    statements = by_sid(
        [production_example.resolved(s) for s in policy_statements(production_example.role("JobRole"))]
    )
    subnet_arns = [f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0a1b2c3d4e5f6000{i}" for i in (1, 2)]
    eni = f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/*"
    assert statements["CreateJobEnis"]["Resource"] == eni
    assert statements["CreateJobEnis"]["Condition"] == {"ArnEquals": {"ec2:Subnet": subnet_arns}}
    assert statements["ManageJobEnis"]["Condition"] == {"ArnEquals": {"ec2:Subnet": subnet_arns}}
    assert set(statements["ManageJobEnis"]["Action"]) == {
        "ec2:CreateNetworkInterfacePermission",
        "ec2:DeleteNetworkInterface",
        "ec2:DeleteNetworkInterfacePermission",
    }
    assert statements["UseJobSubnets"]["Resource"][:2] == subnet_arns
    assert statements["DescribeNetwork"]["Resource"] == "*"


def test_no_vpc_no_ec2_permission(example: Synth, dag_example: Synth) -> None:
    for synth in (example, dag_example):
        text = json.dumps(policy_statements(synth.role("JobRole")))
        assert "ec2:" not in text and "kms:" not in text


def test_kms_grants(production_example: Synth) -> None:
    keys = production_example.resources("AWS::KMS::Key")
    volume_logical = next(k for k in keys if k.startswith("JobVolumeKey"))
    bucket_logical = next(k for k in keys if "Storage" in k)
    volume_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/phys-{volume_logical.lower()}"
    bucket_key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/phys-{bucket_logical.lower()}"
    job = by_sid(
        [production_example.resolved(s) for s in policy_statements(production_example.role("JobRole"))]
    )
    assert job["GrantVolumeKey"] == {
        "Sid": "GrantVolumeKey",
        "Effect": "Allow",
        "Action": "kms:CreateGrant",
        "Resource": volume_arn,
        "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
    }
    assert job["UseOutputKey"]["Resource"] == bucket_key_arn  # the bucket's key is the output key's default
    assert job["UseOutputKey"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    }
    pipeline = by_sid(
        [production_example.resolved(s) for s in policy_statements(production_example.role("PipelineRole"))]
    )
    assert pipeline["GrantVolumeKey"]["Resource"] == volume_arn
    definition = production_example.definition()
    train = next(s["Arguments"] for s in definition["Steps"] if s["Name"] == "train")
    assert train["ResourceConfig"]["VolumeKmsKeyId"] == volume_arn
    assert train["OutputDataConfig"]["KmsKeyId"] == bucket_key_arn


def test_tags_reach_the_jobs(production_example: Synth) -> None:
    definition = production_example.definition()
    # every job and the model (no repack job: the training step packs the inference code)
    assert len(definition["Steps"]) == 4
    for step in definition["Steps"]:
        assert {"Key": "data-classification", "Value": "confidential"} in step["Arguments"]["Tags"], step[
            "Name"
        ]


def test_build_warnings_become_annotations(spot_no_checkpoints) -> None:  # type: ignore[no-untyped-def]
    synth = spot_no_checkpoints
    Annotations.from_stack(synth.stack).has_warning(
        "/SpotNoCheckpoints/Training", Match.string_like_regexp("spot training without checkpoints")
    )


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "S", env=cdk.Environment(region=REGION))


def _vpc(stack: cdk.Stack) -> ec2.IVpc:
    return ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-1",
        availability_zones=["us-east-1a"],
        private_subnet_ids=["subnet-1"],
        private_subnet_route_table_ids=["rtb-1"],
    )


@pytest.mark.parametrize(
    ("build", "field", "fragment"),
    [
        (
            lambda s: {"vpc": _vpc(s), "subnets": [ec2.Subnet.from_subnet_id(s, "S1", "subnet-2")]},
            "subnets",
            "not both",
        ),
        (
            lambda s: {"subnets": [ec2.Subnet.from_subnet_id(s, "S1", "subnet-2")]},
            "security_groups",
            "required",
        ),
        (
            lambda s: {"vpc_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)},
            "vpc_subnets",
            "not given",
        ),
        (
            lambda s: {
                "vpc": _vpc(s),
                "security_groups": [
                    ec2.SecurityGroup.from_security_group_id(s, f"G{i}", f"sg-{i}") for i in range(6)
                ],
            },
            "security_groups",
            "at most 5",
        ),
        (lambda s: {"max_parallel_steps": 0}, "max_parallel_steps", ">= 1"),
        (lambda s: {"volume_kms_key": "alias/x"}, "volume_kms_key", "CDK construct"),
        (lambda s: {"vpc": "vpc-1"}, "vpc", "CDK construct"),
    ],
)
def test_invalid_network_props_are_named(build: Any, field: str, fragment: str) -> None:
    stack = _stack()
    with pytest.raises(ConfigError) as info:
        SageMakerPipeline(stack, "P", template=seed_dag_template(), pipeline_name="p", **build(stack))
    assert info.value.field == field and fragment in str(info.value)


def test_subnets_given_directly_with_security_groups(direct_subnets) -> None:  # type: ignore[no-untyped-def]
    synth = direct_subnets
    train = next(s["Arguments"] for s in synth.definition()["Steps"] if s["Name"] == "train")
    assert train["VpcConfig"] == {"SecurityGroupIds": ["sg-0123"], "Subnets": ["subnet-0123"]}
    assert not synth.resources("AWS::EC2::SecurityGroup")
