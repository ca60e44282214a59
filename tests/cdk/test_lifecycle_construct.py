"""The lifecycle pipeline as a CDK construct: the model package group it creates (or leaves to an existing
one), the pipeline role's registry and step-output grants, and the group's sharing policy."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from support.intrinsics import resolve
from synth_support import (
    ACCOUNT,
    CONTEXT,
    EXISTING_GROUP_ARN,
    REGION,
    SHARED_ACCOUNT,
    Synth,
    by_sid,
    fake_physical,
    policy_statements,
)

from constructs_lib import ConfigError
from constructs_lib.constructs import SageMakerPipeline
from constructs_lib.examples import lifecycle_template, seed_dag_template


def _pipeline_role(synth: Synth) -> dict[str, Any]:
    (role,) = [r for k, r in synth.resources("AWS::IAM::Role").items() if "PipelineRole" in k]
    return {sid: resolve(s, fake_physical(synth.json)) for sid, s in by_sid(policy_statements(role)).items()}


def test_the_stack_creates_the_group_and_the_pipeline_waits_for_it(lifecycle_example: Synth) -> None:
    ((logical, group),) = lifecycle_example.resources("AWS::SageMaker::ModelPackageGroup").items()
    assert group["Properties"] == {
        "ModelPackageGroupName": "constructs-lib-lifecycle",
        "ModelPackageGroupDescription": "Model versions registered by SageMaker pipeline constructs-lib-lifecycle",
    }
    # retained on stack delete (the default): the registry outlives the stack
    assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain"
    _, pipeline = lifecycle_example.one("AWS::SageMaker::Pipeline")
    assert logical in pipeline["DependsOn"]


def test_the_pipeline_role_registers_in_exactly_its_group(lifecycle_example: Synth) -> None:
    sids = _pipeline_role(lifecycle_example)
    prefix = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
    assert sids["RegisterModelPackages"]["Action"] == [
        "sagemaker:CreateModelPackage",
        "sagemaker:DescribeModelPackage",
    ]
    assert sids["RegisterModelPackages"]["Resource"] == f"{prefix}:model-package/constructs-lib-lifecycle/*"
    assert (
        sids["UseModelPackageGroups"]["Resource"] == f"{prefix}:model-package-group/constructs-lib-lifecycle"
    )
    assert f"{prefix}:model-package/constructs-lib-lifecycle/*" in sids["TagJobs"]["Resource"]
    # SageMaker Pipelines reads the property file and the model data: below those two outputs only
    bucket = next(n for n in fake_physical(lifecycle_example.json).refs.values() if "artifactbucket" in n)
    assert sids["ReadStepOutputs"]["Resource"] == [
        f"arn:aws:s3:::{bucket}/constructs-lib-lifecycle/evaluate/*",
        f"arn:aws:s3:::{bucket}/constructs-lib-lifecycle/train/model/*",
    ]
    assert "DecryptStepOutputs" not in sids  # SSE-S3
    text = json.dumps(sids)
    assert "model-package/*" not in text and ":model/" not in text  # no CreateModel: nothing creates one


def test_no_group_and_no_registry_grant_without_a_registration_step(dag_example: Synth) -> None:
    assert dag_example.resources("AWS::SageMaker::ModelPackageGroup") == {}
    assert "RegisterModelPackages" not in _pipeline_role(dag_example)
    assert "ReadStepOutputs" not in _pipeline_role(dag_example)


def test_a_shared_group_has_a_resource_policy_for_those_accounts(lifecycle_shared: Synth) -> None:
    ((_, group),) = lifecycle_shared.resources("AWS::SageMaker::ModelPackageGroup").items()
    assert group["DeletionPolicy"] == "Delete"  # retain_on_delete=False
    policy = resolve(group["Properties"]["ModelPackageGroupPolicy"], fake_physical(lifecycle_shared.json))
    principal = {"AWS": [f"arn:aws:iam::{SHARED_ACCOUNT}:root"]}
    assert policy["Statement"] == [
        {
            "Sid": "ShareModelPackageGroup",
            "Effect": "Allow",
            "Principal": principal,
            "Action": ["sagemaker:DescribeModelPackageGroup"],
            "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/lifecycle-shared",
        },
        {
            "Sid": "ShareModelPackageVersions",
            "Effect": "Allow",
            "Principal": principal,
            "Action": ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
            "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/lifecycle-shared/*",
        },
    ]
    # with a KMS key, the pipeline role may decrypt what it reads
    sids = _pipeline_role(lifecycle_shared)
    (key,) = lifecycle_shared.resources("AWS::KMS::Key")
    assert sids["DecryptStepOutputs"]["Action"] == "kms:Decrypt"
    assert sids["DecryptStepOutputs"]["Resource"] == fake_physical(lifecycle_shared.json).attribute(
        key, "Arn"
    )


def _construct(stack_name: str, **kwargs: Any) -> SageMakerPipeline:
    app = cdk.App(context=CONTEXT)
    stack = cdk.Stack(app, stack_name, env=cdk.Environment(region=REGION))
    return SageMakerPipeline(stack, "Lifecycle", pipeline_name="lc", **kwargs)


def test_an_existing_group_is_used_not_created(existing_group: Synth) -> None:
    arn = EXISTING_GROUP_ARN
    synth = existing_group
    assert synth.resources("AWS::SageMaker::ModelPackageGroup") == {}
    sids = _pipeline_role(synth)
    # model package ARNs keep the group name's case
    assert sids["RegisterModelPackages"]["Resource"] == (
        f"arn:aws:sagemaker:{REGION}:{SHARED_ACCOUNT}:model-package/Shared-Models/*"
    )
    assert sids["UseModelPackageGroups"]["Resource"] == arn
    steps = {s["Name"]: s for s in synth.definition()["Steps"]}
    (register,) = steps["quality_gate"]["Arguments"]["IfSteps"]
    assert register["Arguments"]["ModelPackageGroupName"] == arn


def test_sharing_needs_a_created_group() -> None:
    with pytest.raises(ConfigError, match="creates none") as info:
        _construct(
            "NothingToShare", template=seed_dag_template(REGION), share_model_packages_with=[SHARED_ACCOUNT]
        )
    assert info.value.field == "share_model_packages_with"
    with pytest.raises(ConfigError, match="12 digits") as bad:
        _construct("BadAccount", template=lifecycle_template(REGION), share_model_packages_with=["12345"])
    assert bad.value.field == "share_model_packages_with[0]"
