"""The job settings, applied once for every builder: retries, caching, network, KMS keys, tags, instance
choices, and what each of them needs at run time (:class:`~constructs_lib.access.AccessNeeds`).

Every builder calls these helpers; none re-implements them. They run inside ``sdk_adapter.sdk()`` (the
builders' ``_build``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from constructs_lib.access import AccessNeeds
from constructs_lib.config.job import ComputeJobSettings, RetryPolicy
from constructs_lib.context import BuildContext

__all__ = [
    "BuildWarning",
    "InstanceChoice",
    "cache_config",
    "infrastructure_access",
    "instance_choice",
    "processing_network_config",
    "retry_policies",
    "tags",
    "vpc_config",
]


@dataclass(frozen=True)
class BuildWarning:
    """A warning a build raises (the CDK construct adds it as an annotation with this stable ``id``).

    Attributes:
        id: stable id, e.g. ``constructs_lib:spot-without-checkpoints``.
        step: the step it concerns.
        message: what is risky and how to avoid it.
    """

    id: str
    step: str
    message: str


class HasRetryPolicies(Protocol):
    """A config with retry policies (:class:`~constructs_lib.config.job.JobSettings`, the registration)."""

    @property
    def retry_policies(self) -> tuple[RetryPolicy, ...]: ...


def retry_policies(settings: HasRetryPolicies, *, jobs: bool = True) -> list[Any]:
    """The SDK's retry policies for ``settings.retry_policies`` (``jobs=False``: step-call policies only,
    for steps that start no job)."""
    from sagemaker.workflow.retry import (
        SageMakerJobExceptionTypeEnum,
        SageMakerJobStepRetryPolicy,
        StepExceptionTypeEnum,
        StepRetryPolicy,
    )

    from constructs_lib.sdk_adapter import enum_members_by_value

    job_types = enum_members_by_value(SageMakerJobExceptionTypeEnum)
    step_types = enum_members_by_value(StepExceptionTypeEnum)
    result: list[Any] = []
    for policy in settings.retry_policies:
        limits = {
            "backoff_rate": policy.backoff_rate,
            "interval_seconds": policy.interval_seconds,
            "max_attempts": policy.max_attempts,
            "expire_after_mins": policy.expire_after_minutes,
        }
        if policy.retries_jobs:
            if jobs:
                job_enums = [job_types[t] for t in policy.exception_types]
                result.append(SageMakerJobStepRetryPolicy(failure_reason_types=job_enums, **limits))
        else:
            step_enums = [step_types[t] for t in policy.exception_types]
            result.append(StepRetryPolicy(exception_types=step_enums, **limits))
    return result


def cache_config(settings: ComputeJobSettings) -> Any:
    """The SDK's ``CacheConfig`` (``None`` without caching)."""
    if settings.cache_expire_after is None:
        return None
    from sagemaker.workflow.steps import CacheConfig

    return CacheConfig(enable_caching=True, expire_after=settings.cache_expire_after)


def tags(ctx: BuildContext) -> list[dict[str, str]] | None:
    """``[{"Key", "Value"}]`` of the deployment's tags (``None`` without tags)."""
    return [{"Key": k, "Value": v} for k, v in ctx.infrastructure.tags] or None


def vpc_config(ctx: BuildContext) -> dict[str, list[str]] | None:
    """``{"Subnets", "SecurityGroupIds"}`` for a model (``None`` without a VPC)."""
    infra = ctx.infrastructure
    if not infra.vpc:
        return None
    return {"Subnets": list(infra.subnets), "SecurityGroupIds": list(infra.security_group_ids)}


def processing_network_config(ctx: BuildContext, settings: ComputeJobSettings) -> Any:
    """The SDK's ``NetworkConfig`` of a processing job (``None`` when it has nothing to say)."""
    infra = ctx.infrastructure
    if not (infra.vpc or settings.enable_network_isolation or settings.encrypt_inter_container_traffic):
        return None
    from sagemaker.network import NetworkConfig

    return NetworkConfig(
        enable_network_isolation=settings.enable_network_isolation,
        security_group_ids=list(infra.security_group_ids) or None,
        subnets=list(infra.subnets) or None,
        encrypt_inter_container_traffic=settings.encrypt_inter_container_traffic,
    )


def infrastructure_access(ctx: BuildContext, *, volumes: bool = True, outputs: bool = True) -> AccessNeeds:
    """What the deployment's settings need from a job: its KMS keys (the volume key: grants for the ML
    storage volumes; the output key: encrypting and reading outputs) and, in a VPC, its network interfaces."""
    infra = ctx.infrastructure
    return AccessNeeds(
        kms_keys=(infra.output_kms_key,) if outputs and infra.output_kms_key else (),
        volume_keys=(infra.volume_kms_key,) if volumes and infra.volume_kms_key else (),
        subnets=infra.subnets,
        security_groups=infra.security_group_ids,
    )


@dataclass(frozen=True)
class InstanceChoice:
    """A job's instance type and count: plain values, or pipeline parameters when the config declares
    choices.

    Attributes:
        instance_type: the value for the SDK (a string or a ``ParameterString`` with ``EnumValues``).
        instance_count: the value for the SDK (an int or a ``ParameterInteger``).
        parameters: the parameters created (empty without choices).
    """

    instance_type: Any
    instance_count: Any
    parameters: tuple[Any, ...]


def instance_choice(
    node: str,
    *,
    instance_type: str,
    type_choices: tuple[str, ...],
    count: int,
    count_choices: tuple[int, ...],
) -> InstanceChoice:
    """The instance type and count of ``node``: ``<node>InstanceType`` (a string parameter whose allowed
    values are the choices: SageMaker refuses others when an execution starts) and ``<node>InstanceCount``
    when the config declares choices, else the plain values."""
    from sagemaker.workflow.parameters import ParameterInteger, ParameterString

    params: list[Any] = []
    type_value: Any = instance_type
    count_value: Any = count
    if type_choices:
        type_value = ParameterString(
            name=f"{node}InstanceType", default_value=instance_type, enum_values=list(type_choices)
        )
        params.append(type_value)
    if count_choices:
        count_value = ParameterInteger(name=f"{node}InstanceCount", default_value=count)
        params.append(count_value)
    return InstanceChoice(type_value, count_value, tuple(params))
