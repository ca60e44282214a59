"""``BuildContext``: the pipeline-wide values every step builder needs (region, role, locations)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from constructs_lib import placeholders
from constructs_lib.config.base import check_s3_uri
from constructs_lib.config.training_pytorch import check_region
from constructs_lib.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from sagemaker.workflow.pipeline_context import PipelineSession

__all__ = ["BuildContext", "check_pipeline_name", "check_role_arn"]

_PIPELINE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")


def check_pipeline_name(name: str) -> str:
    """A SageMaker pipeline name: 1-256 chars, ``[a-zA-Z0-9](-*[a-zA-Z0-9])*`` (botocore ``PipelineName``)."""
    from constructs_lib import limits

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
    from constructs_lib import limits

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


@dataclass(frozen=True)
class BuildContext:
    """Pipeline-wide inputs of the step builders.

    Attributes:
        region: AWS region (image URIs are regional). Required.
        pipeline_name: the SageMaker pipeline's name (used in default S3 prefixes).
        role_arn: ARN of the role SageMaker jobs run as. Default: a placeholder the CDK layer replaces.
        artifact_root: ``s3://bucket[/prefix]`` under which outputs go by default. Default: a placeholder
            bucket the CDK layer replaces with its artifact bucket.
        sagemaker_session: a session to build with. Default: an offline session (no AWS calls).
    """

    region: str
    pipeline_name: str = "pipeline"
    role_arn: str = placeholders.JOB_ROLE_ARN
    artifact_root: str = f"s3://{placeholders.ARTIFACT_BUCKET}"
    sagemaker_session: PipelineSession | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.region:
            raise ConfigError(
                "a concrete AWS region is needed to build the pipeline",
                field="region",
                value=self.region,
                hint="pass region=..., set it on the config, or deploy the stack to a concrete env",
            )
        check_region(self.region)
        check_pipeline_name(self.pipeline_name)
        check_role_arn(self.role_arn)
        check_s3_uri(self.artifact_root, field="artifact_root")
        object.__setattr__(self, "artifact_root", self.artifact_root.rstrip("/"))

    @functools.cached_property
    def session(self) -> PipelineSession:
        """The session builders use: the given one, or an offline one (never calls AWS)."""
        if self.sagemaker_session is not None:
            return self.sagemaker_session
        from constructs_lib.sdk_adapter import offline_session

        bucket = self.artifact_root[len("s3://") :].split("/", 1)[0]
        return offline_session(self.region, bucket)

    def default_location(self, node: str, leaf: str) -> str:
        """``<artifact_root>/<pipeline_name>/<node>/<leaf>``: the default S3 location of a node's output."""
        return f"{self.artifact_root}/{self.pipeline_name}/{node}/{leaf}"
