"""The model package groups a pipeline registers model versions into (``AWS::SageMaker::ModelPackageGroup``).

For every group the steps' access needs name by *name* (``AccessNeeds.model_package_groups``: a
registration step's ``model_package_group_name``, or the default derived from the pipeline name), the
construct creates the group; a group named by ARN exists already and is left alone. A created group is
retained on stack delete unless ``retain_on_delete=False`` (CloudFormation can delete a group only once it
holds no versions), carries the construct's tags and, with ``share_model_packages_with``, a resource
policy that lets those accounts see its versions (cross-account promotion), and nothing more.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from constructs_lib.constructs.policies import model_package_arns
from constructs_lib.names import parse_group_arn

__all__ = ["SHARED_GROUP_ACTIONS", "SHARED_PACKAGE_ACTIONS", "created_group_names", "model_package_groups"]

#: What an account of ``share_model_packages_with`` may do on a created group ...
SHARED_GROUP_ACTIONS = ("sagemaker:DescribeModelPackageGroup",)
#: ... and on its versions.
SHARED_PACKAGE_ACTIONS = ("sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages")


def created_group_names(groups: Sequence[str]) -> list[str]:
    """The groups the construct creates: those named by name (not by ARN), sorted, unique."""
    return sorted({g for g in groups if parse_group_arn(g) is None})


def model_package_groups(
    scope: Construct,
    groups: Sequence[str],
    *,
    pipeline_name: str,
    retain_on_delete: bool,
    share_with_accounts: Sequence[str] = (),
) -> dict[str, sagemaker.CfnModelPackageGroup]:
    """Create each group of ``groups`` named by name (see the module docstring); returns them by name."""
    stack = Stack.of(scope)
    created: dict[str, sagemaker.CfnModelPackageGroup] = {}
    for name in created_group_names(groups):
        group_arn, packages_arn = model_package_arns(stack, name)
        policy = None
        if share_with_accounts:
            principals = {"AWS": [f"arn:{stack.partition}:iam::{a}:root" for a in share_with_accounts]}
            policy = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "ShareModelPackageGroup",
                        "Effect": "Allow",
                        "Principal": principals,
                        "Action": list(SHARED_GROUP_ACTIONS),
                        "Resource": group_arn,
                    },
                    {
                        "Sid": "ShareModelPackageVersions",
                        "Effect": "Allow",
                        "Principal": principals,
                        "Action": list(SHARED_PACKAGE_ACTIONS),
                        "Resource": packages_arn,
                    },
                ],
            }
        group = sagemaker.CfnModelPackageGroup(
            scope,
            f"ModelPackageGroup-{name}",
            model_package_group_name=name,
            model_package_group_description=f"Model versions registered by SageMaker pipeline {pipeline_name}",
            model_package_group_policy=policy,
        )
        group.apply_removal_policy(RemovalPolicy.RETAIN if retain_on_delete else RemovalPolicy.DESTROY)
        created[name] = group
    return created
