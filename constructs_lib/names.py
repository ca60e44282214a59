"""Validators of SageMaker names and ARNs, against botocore's SageMaker service model."""

from __future__ import annotations

import re
from typing import NamedTuple

from constructs_lib import limits
from constructs_lib.errors import ConfigError

__all__ = ["GroupArn", "check_pipeline_name", "check_role_arn", "check_step_name", "parse_group_arn"]


def check_step_name(name: str, *, field: str = "step_name") -> str:
    """A SageMaker pipeline step name: 1-64 characters of ``A-Za-z0-9-_`` (botocore ``StepName``)."""
    shape = limits.shape("StepName")
    if not isinstance(name, str) or not name or len(name) > (shape.max or 64) or not shape.fullmatch(name):
        raise ConfigError(
            "invalid SageMaker step name",
            field=field,
            value=name,
            hint=f"1-{shape.max} characters of A-Z, a-z, 0-9, '-' and '_'",
        )
    return name


def check_pipeline_name(name: str) -> str:
    """A SageMaker pipeline name: 1-256 chars, ``[a-zA-Z0-9](-*[a-zA-Z0-9])*`` (botocore ``PipelineName``)."""
    shape = limits.shape("PipelineName")
    if not isinstance(name, str) or not name or len(name) > (shape.max or 256) or not shape.fullmatch(name):
        raise ConfigError(
            "invalid SageMaker pipeline name",
            field="pipeline_name",
            value=name,
            hint=f"1-{shape.max} characters matching {shape.pattern} (letters, digits, single hyphens inside)",
        )
    return name


def check_role_arn(value: object, field: str = "role") -> str:
    """An IAM role ARN (botocore ``RoleArn``: 20-2048 chars, ``arn:aws*:iam::<account>:role/<name>``)."""
    shape = limits.shape("RoleArn")
    if (
        not isinstance(value, str)
        or len(value) < (shape.min or 20)
        or len(value) > (shape.max or 2048)
        or not shape.fullmatch(value)
    ):
        raise ConfigError(
            "not an IAM role ARN",
            field=field,
            value=value,
            hint="expected arn:aws:iam::<12-digit account>:role/<name> (pass a role ARN string; the CDK "
            "construct takes an iam.IRole as job_role instead)",
        )
    return value


_GROUP_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z\-]*):sagemaker:(?P<region>[a-z0-9\-]+):(?P<account>[0-9]{12}):"
    r"model-package-group/(?P<name>[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})$"
)


class GroupArn(NamedTuple):
    """The parts of a model package group's ARN."""

    partition: str
    region: str
    account: str
    name: str


def parse_group_arn(value: str) -> GroupArn | None:
    """The parts of ``value`` when it is a model package group's ARN, else ``None`` (a group name)."""
    m = _GROUP_ARN.match(value)
    return None if m is None else GroupArn(m["partition"], m["region"], m["account"], m["name"])
