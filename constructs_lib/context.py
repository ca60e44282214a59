"""``BuildContext``: the pipeline-wide values every step builder needs (region, role, locations)."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from constructs_lib import placeholders
from constructs_lib.config.base import check_region, check_s3_uri
from constructs_lib.errors import ConfigError
from constructs_lib.names import check_pipeline_name, check_role_arn

if TYPE_CHECKING:  # pragma: no cover
    from sagemaker.workflow.pipeline_context import PipelineSession

__all__ = ["BuildContext", "Infrastructure", "check_pipeline_name", "check_role_arn", "resolve_region"]

#: Environment variables read, in this order, when nothing else names the region (as boto3 does).
REGION_ENV_VARS = ("AWS_REGION", "AWS_DEFAULT_REGION")


def resolve_region(
    explicit: str | None,
    configs: Mapping[str, object] = {},
    session: PipelineSession | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The one region rule of builders and templates.

    First found wins: ``explicit`` (the ``region=`` argument), the configs' ``region`` fields (which must
    agree), the SageMaker session's region, then the environment (``AWS_REGION``, ``AWS_DEFAULT_REGION``,
    as every boto3 and SDK user expects). Never a silent default: nothing found is a :class:`ConfigError`,
    and a config whose region differs from the chosen one is an error naming it.

    Args:
        explicit: the region passed by the caller. ``None``: not given.
        configs: node (or step) name -> config; configs without a ``region`` field are ignored.
        session: a SageMaker session whose ``boto_region_name`` counts. Default ``None``.
        environ: the environment to read. Default ``None``: ``os.environ``.
    """
    from_configs = {
        node: value for node, cfg in configs.items() if isinstance(value := getattr(cfg, "region", None), str)
    }
    chosen = explicit
    if chosen is None:
        distinct = sorted(set(from_configs.values()))
        if len(distinct) > 1:
            raise ConfigError(
                "the configs ask for different regions",
                field="region",
                value=dict(sorted(from_configs.items())),
                hint="a pipeline lives in one region: make the configs agree or pass region=...",
            )
        chosen = distinct[0] if distinct else None
    if chosen is None and session is not None:
        chosen = getattr(session, "boto_region_name", None) or None
    if chosen is None:
        env = os.environ if environ is None else environ
        chosen = next((env[name] for name in REGION_ENV_VARS if env.get(name)), None)
    if chosen is None:
        raise ConfigError(
            "no AWS region: the image URIs and ARNs of the steps are regional",
            field="region",
            hint="pass region='us-east-1', set the config's region, or export AWS_REGION "
            "(the CDK construct passes its stack's region)",
        )
    check_region(chosen)
    conflicting = {n: r for n, r in sorted(from_configs.items()) if r != chosen}
    if conflicting:
        raise ConfigError(
            f"configs ask for a region other than the pipeline's {chosen!r}",
            field="region",
            value=conflicting,
            hint="a pipeline lives in one region: remove region from the configs or make them agree",
        )
    return chosen


@dataclass(frozen=True)
class Infrastructure:
    """Deployment-wide settings every job of the pipeline gets: the network it runs in, the KMS keys of its
    volumes and outputs, and the tags of what SageMaker creates. The CDK construct fills it from its props
    (``vpc=``, ``security_groups=``, ``volume_kms_key=``, ``output_kms_key=``, ``tags=``) with placeholders it
    then substitutes by tokens; a pure-core user may pass real ids and ARNs.

    Attributes:
        subnets: subnet ids the jobs run in (``VpcConfig``/``NetworkConfig``). Default ``()``: no VPC.
        security_group_ids: security group ids of the jobs (at least one with ``subnets``). Default ``()``.
        volume_kms_key: KMS key (ARN) of the jobs' ML storage volumes. Default ``None``: AWS managed.
        output_kms_key: KMS key (ARN) that encrypts the jobs' outputs and checkpoints. Default ``None``: the
            bucket's default encryption.
        tags: ``(key, value)`` pairs the jobs and models SageMaker creates are tagged with (sorted).
            Default ``()``.
    """

    subnets: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    volume_kms_key: str | None = None
    output_kms_key: str | None = None
    tags: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        from constructs_lib import limits

        if bool(self.subnets) != bool(self.security_group_ids):
            raise ConfigError(
                "a VPC needs subnets and security groups together",
                field="subnets" if not self.subnets else "security_group_ids",
                value=(self.subnets, self.security_group_ids),
                hint="give both, or neither for no VPC",
            )
        for name, shape in (("subnets", "Subnets"), ("security_group_ids", "VpcSecurityGroupIds")):
            values = getattr(self, name)
            limit = limits.shape(shape).max
            if values and limit is not None and len(values) > limit:
                raise ConfigError(
                    f"SageMaker accepts at most {limit} {name.replace('_', ' ')}",
                    field=name,
                    value=len(values),
                    hint=f"pass at most {limit}",
                )
        object.__setattr__(self, "tags", tuple(sorted(self.tags)))

    @property
    def vpc(self) -> bool:
        """True when the jobs run in a VPC."""
        return bool(self.subnets)


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
        infrastructure: network, KMS keys and tags of every job. Default: none of them.
    """

    region: str
    pipeline_name: str = "pipeline"
    role_arn: str = placeholders.JOB_ROLE_ARN
    artifact_root: str = f"s3://{placeholders.ARTIFACT_BUCKET}"
    sagemaker_session: PipelineSession | None = field(default=None, compare=False)
    infrastructure: Infrastructure = field(default_factory=Infrastructure)

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
