"""The call list on a small hand-written template with what the example stacks do not have yet: a VPC, KMS
keys (bucket, volume, output, topic), a PropertyFile read by a Condition step, a model + transform, a
schedule, an EventBridge rule publishing to an encrypted SNS topic, an AWS-managed policy, an IAM::Policy
attached to a role. Pure Python (no synthesis)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.runtime_calls import OVERRIDE_URI, CallListError, StackCalls, stack_calls
from synth_support import fake_physical

ACCOUNT, REGION = "123456789012", "us-east-1"
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
JOB_ROLE = {"Fn::GetAtt": ["JobRole", "Arn"]}
BUCKET = {"Ref": "Bucket"}
VPC = {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0123456789abcdef0"]}


def s3(*parts: str) -> dict[str, Any]:
    """``s3://<Bucket>/<parts...>`` as a CloudFormation Fn::Join."""
    return {"Fn::Join": ["", ["s3://", BUCKET, "/", "/".join(parts)]]}


def definition() -> dict[str, Any]:
    out = {
        "Std:Join": {
            "On": "/",
            "Values": ["s3://BUCKET/p/eval", {"Get": "Execution.PipelineExecutionId"}, "report"],
        }
    }
    processing = {
        "Name": "eval",
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {"ImageUri": SKLEARN},
            "ProcessingInputs": [
                {
                    "InputName": "data",
                    "S3Input": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": {"Get": "Parameters.InputUri"},
                        "LocalPath": "/x",
                    },
                }
            ],
            "ProcessingOutputConfig": {"Outputs": [{"OutputName": "report", "S3Output": {"S3Uri": out}}]},
            "ProcessingResources": {"ClusterConfig": {"VolumeKmsKeyId": "KEYARN"}},
            "NetworkConfig": {"VpcConfig": VPC},
            "RoleArn": "JOBROLE",
        },
        "PropertyFiles": [
            {"PropertyFileName": "Report", "OutputName": "report", "FilePath": "evaluation.json"}
        ],
    }
    model = {
        "Name": "mdl",
        "Type": "Model",
        "Arguments": {
            "ExecutionRoleArn": "JOBROLE",
            "PrimaryContainer": {"Image": SKLEARN, "ModelDataUrl": "s3://BUCKET/p/model.tar.gz"},
        },
    }
    transform = {
        "Name": "batch",
        "Type": "Transform",
        "Arguments": {
            "ModelName": {"Get": "Steps.mdl.ModelName"},
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://BUCKET/p/in/"}}
            },
            "TransformOutput": {"S3OutputPath": "s3://BUCKET/p/out", "KmsKeyId": "KEYARN"},
            "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        },
    }
    condition = {
        "Name": "check",
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {
                    "Type": "GreaterThanOrEqualTo",
                    "LeftValue": {
                        "Std:JsonGet": {
                            "PropertyFile": {"Get": "Steps.eval.PropertyFiles.Report"},
                            "Path": "auc",
                        }
                    },
                    "RightValue": 0.7,
                }
            ],
            "IfSteps": [model, transform],
            "ElseSteps": [{"Name": "stop", "Type": "Fail", "Arguments": {"ErrorMessage": "low auc"}}],
        },
    }
    return {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "InputUri", "Type": "String", "DefaultValue": "s3://BUCKET/p/in/"}],
        "Steps": [processing, condition],
    }


def body() -> dict[str, Any]:
    """The definition as the construct writes it: JSON text with the deploy-time values joined in."""
    text = json.dumps(definition(), sort_keys=True)
    parts: list[Any] = []
    for i, chunk in enumerate(text.split("BUCKET")):
        if i:
            parts.append(BUCKET)
        for j, piece in enumerate(chunk.split("JOBROLE")):
            if j:
                parts.append(JOB_ROLE)
            for k, bit in enumerate(piece.split("KEYARN")):
                if k:
                    parts.append({"Fn::GetAtt": ["Key", "Arn"]})
                parts.append(bit)
    return {"Fn::Join": ["", parts]}


def allow(sid: str, actions: list[str], resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource, **extra}


def role(policies: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    trust = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ]
    }
    props = {
        "AssumeRolePolicyDocument": trust,
        "Policies": [{"PolicyName": "P", "PolicyDocument": {"Statement": policies}}],
    }
    return {"Type": "AWS::IAM::Role", "Properties": {**props, **extra}}


def template() -> dict[str, Any]:
    key_arn = {"Fn::GetAtt": ["Key", "Arn"]}
    bucket_arn = {"Fn::GetAtt": ["Bucket", "Arn"]}
    root = {"Fn::Join": ["", ["arn:aws:iam::", {"Ref": "AWS::AccountId"}, ":root"]]}
    return {
        "Resources": {
            "Key": {
                "Type": "AWS::KMS::Key",
                "Properties": {
                    "KeyPolicy": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": root},
                                "Action": "kms:*",
                                "Resource": "*",
                            }
                        ]
                    }
                },
            },
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {
                                "ServerSideEncryptionByDefault": {
                                    "SSEAlgorithm": "aws:kms",
                                    "KMSMasterKeyID": key_arn,
                                }
                            }
                        ]
                    }
                },
            },
            "JobRole": role(
                [
                    allow("Read", ["s3:GetObject"], {"Fn::Join": ["", [bucket_arn, "/p/*"]]}),
                    allow(
                        "List", ["s3:ListBucket"], bucket_arn, Condition={"StringLike": {"s3:prefix": "p/*"}}
                    ),
                    allow("Write", ["s3:PutObject"], {"Fn::Join": ["", [bucket_arn, "/p/*"]]}),
                ]
            ),
            "JobKms": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyName": "Kms",
                    "Roles": [{"Ref": "JobRole"}],
                    "PolicyDocument": {
                        "Statement": [allow("UseKey", ["kms:Decrypt", "kms:GenerateDataKey"], key_arn)]
                    },
                },
            },
            "PipelineRole": role(
                [allow("Run", ["sagemaker:*"], "*")],
                ManagedPolicyArns=["arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"],
            ),
            "Pipeline": {
                "Type": "AWS::SageMaker::Pipeline",
                "Properties": {
                    "PipelineName": "synthetic",
                    "RoleArn": {"Fn::GetAtt": ["PipelineRole", "Arn"]},
                    "PipelineDefinition": {"PipelineDefinitionBody": body()},
                },
            },
            "SchedulerRole": role(
                [
                    allow(
                        "Start",
                        ["sagemaker:StartPipelineExecution"],
                        {
                            "Fn::Join": [
                                "",
                                [
                                    "arn:aws:sagemaker:",
                                    {"Ref": "AWS::Region"},
                                    ":",
                                    {"Ref": "AWS::AccountId"},
                                    ":pipeline/synthetic",
                                ],
                            ]
                        },
                    )
                ]
            ),
            "Schedule": {
                "Type": "AWS::Scheduler::Schedule",
                "Properties": {
                    "ScheduleExpression": "rate(1 day)",
                    "Target": {
                        "Arn": "arn:aws:scheduler:::aws-sdk:sagemaker:startPipelineExecution",
                        "RoleArn": {"Fn::GetAtt": ["SchedulerRole", "Arn"]},
                        "Input": json.dumps({"PipelineName": "synthetic"}),
                    },
                },
            },
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": {"Ref": "Key"}}},
            "TopicPolicy": {
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {
                    "Topics": [{"Ref": "Topic"}],
                    "PolicyDocument": {
                        "Statement": [
                            {
                                "Sid": "Events",
                                "Effect": "Allow",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Action": "sns:Publish",
                                "Resource": {"Ref": "Topic"},
                                "Condition": {
                                    "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["Rule", "Arn"]}}
                                },
                            }
                        ]
                    },
                },
            },
            "Rule": {
                "Type": "AWS::Events::Rule",
                "Properties": {"Targets": [{"Arn": {"Ref": "Topic"}, "Id": "t"}]},
            },
        }
    }


@pytest.fixture(scope="module")
def synthetic() -> StackCalls:
    t = template()
    return stack_calls("Synthetic", t, fake_physical(t))


def calls(sc: StackCalls, action: str, step: str | None = None) -> list[Any]:
    return [c for c in sc.calls if c.action == action and (step is None or c.step == step)]


def test_nested_condition_steps_transform_and_property_file(synthetic: StackCalls) -> None:
    steps = {c.step for c in synthetic.calls}
    assert {"eval", "check", "mdl", "batch"} <= steps and "stop" not in steps
    (read,) = calls(synthetic, "s3:GetObject", "check")
    assert read.principal.endswith(":role/phys-pipelinerole")
    assert read.resource == "arn:aws:s3:::phys-bucket/p/eval/8d0j7ogwl3gl/report/evaluation.json"
    transform_reads = calls(synthetic, "s3:ListBucket", "batch")
    assert transform_reads and all(c.principal.endswith(":role/phys-jobrole") for c in transform_reads)
    assert calls(synthetic, "sagemaker:CreateTransformJob", "batch")


def test_kms_calls_and_key_policy(synthetic: StackCalls) -> None:
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/phys-key"
    grants = calls(synthetic, "kms:CreateGrant", "eval")
    assert {c.principal.rsplit("/", 1)[1] for c in grants} == {"phys-jobrole", "phys-pipelinerole"}
    assert all(c.resource == key and ("kms:GrantIsForAWSResource", "true") in c.context for c in grants)
    decrypt = [c for c in calls(synthetic, "kms:Decrypt", "eval") if c.principal.endswith("phys-jobrole")]
    assert (
        decrypt and synthetic.decide(decrypt[0]).allowed
    )  # IAM::Policy attached via Roles + root in key policy
    assert any(c.action == "kms:Encrypt" for c in calls(synthetic, "kms:Encrypt", "batch"))


def test_vpc_calls(synthetic: StackCalls) -> None:
    eni = calls(synthetic, "ec2:CreateNetworkInterface", "eval")
    resources = {c.resource for c in eni}
    assert f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0123456789abcdef0" in resources
    assert f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0123456789abcdef0" in resources
    assert any(
        ("ec2:Subnet", f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0123456789abcdef0") in c.context
        for c in eni
    )


def test_parameter_override_is_expected_denied(synthetic: StackCalls) -> None:
    overrides = [c for c in synthetic.calls if not c.expect_allowed]
    assert {c.action for c in overrides} == {"s3:ListBucket", "s3:GetObject"}
    assert all("some-other-bucket" in c.resource for c in overrides) and OVERRIDE_URI.startswith(
        "s3://some-other-bucket"
    )
    assert not any(synthetic.decide(c).allowed for c in overrides)


def test_aws_managed_policy_fails_the_evaluation(synthetic: StackCalls) -> None:
    (create,) = calls(synthetic, "sagemaker:CreateProcessingJob")
    decision = synthetic.decide(create)
    assert not decision.allowed and decision.reason == "unknown-policy"
    assert "AmazonSageMakerFullAccess" in decision.describe()


def test_schedule_and_event_rule_principals(synthetic: StackCalls) -> None:
    (start,) = calls(synthetic, "sagemaker:StartPipelineExecution")
    assert start.resource == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/synthetic"
    assert synthetic.decide(start).allowed
    (publish,) = calls(synthetic, "sns:Publish")
    assert publish.principal == "events.amazonaws.com" and synthetic.decide(publish).allowed
    # The topic's key policy lets only the account's IAM policies use the key: EventBridge is denied.
    (data_key,) = [
        c for c in calls(synthetic, "kms:GenerateDataKey") if c.principal == "events.amazonaws.com"
    ]
    decision = synthetic.decide(data_key)
    assert not decision.allowed and decision.reason == "key-policy"


def test_unknown_step_types_and_s3_definitions_are_errors() -> None:
    t = template()
    d = definition()
    d["Steps"].append({"Name": "emr", "Type": "EMR", "Arguments": {}})
    t["Resources"]["Pipeline"]["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"] = json.dumps(d)
    with pytest.raises(CallListError, match="type 'EMR'"):
        stack_calls("Synthetic", t, fake_physical(t))
    t["Resources"]["Pipeline"]["Properties"]["PipelineDefinition"] = {
        "PipelineDefinitionS3Location": {"Bucket": "b", "Key": "k"}
    }
    with pytest.raises(CallListError, match="stored in S3"):
        stack_calls("Synthetic", t, fake_physical(t))
