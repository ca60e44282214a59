"""Job settings every SageMaker job step shares: retries, caching, network isolation, inter-container
traffic encryption and instance-type/count choices at run time.

They live here once; the step configs inherit them (:class:`JobSettings` for every job step,
:class:`ComputeJobSettings` for the training and processing steps) and the shared builder code applies them
(:mod:`constructs_lib.builders.settings`). Settings that name AWS resources (the VPC, KMS keys, tags) are
deployment-wide and come from the CDK construct (``vpc=``, ``volume_kms_key=``...), see
:class:`~constructs_lib.context.Infrastructure`.
"""

from __future__ import annotations

import math
import re
from typing import Literal, Self

from pydantic import StrictBool, StrictFloat, StrictInt, field_validator, model_validator

from constructs_lib.config.base import StrictModel, check_range
from constructs_lib.errors import ConfigError

__all__ = [
    "DEFAULT_RETRY_POLICIES",
    "DEFAULT_STEP_RETRY_POLICIES",
    "ComputeJobSettings",
    "JobSettings",
    "RetryPolicy",
    "check_count_choices",
    "check_iso8601_duration",
    "check_type_choices",
]

ExceptionType = Literal[
    "Step.SERVICE_FAULT",
    "Step.THROTTLING",
    "SageMaker.JOB_INTERNAL_ERROR",
    "SageMaker.CAPACITY_ERROR",
    "SageMaker.RESOURCE_LIMIT",
]

#: SageMaker's limits for a retry policy ("Retry Policy for Pipeline Steps", SageMaker Developer Guide).
MAX_INTERVAL_SECONDS = 43_200
MAX_ATTEMPTS = 20
MAX_EXPIRE_AFTER_MINUTES = 14_400


class RetryPolicy(StrictModel):
    """One retry policy of a pipeline step.

    ``Step.*`` exception types retry the step's call to SageMaker (a service fault, throttling);
    ``SageMaker.*`` ones start a new job when the job failed for an internal error, a lack of capacity
    (EC2 ``InsufficientCapacityError``) or an exceeded resource quota. One policy holds exception types of
    one kind (the SDK's ``StepRetryPolicy`` or ``SageMakerJobStepRetryPolicy``).
    """

    exception_types: tuple[ExceptionType, ...]
    """What to retry. Required; at least one, of one kind (``Step.*`` or ``SageMaker.*``)."""

    interval_seconds: StrictInt = 1
    """Seconds before the first retry, ``1..43200``. Default ``1``."""

    backoff_rate: StrictFloat = 2.0
    """Multiplier of the interval per attempt, a finite number ``>= 1.0`` (smaller would shorten the waits).
    Default ``2.0``."""

    max_attempts: StrictInt | None = None
    """Most retries, ``1..20``. Exactly one of ``max_attempts`` and ``expire_after_minutes`` is set.
    Default ``None``."""

    expire_after_minutes: StrictInt | None = None
    """Stop retrying this long after the first failure, ``1..14400`` minutes. Default ``None``."""

    @field_validator("exception_types")
    @classmethod
    def _types(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ConfigError("needs at least one exception type", field="exception_types", value=v)
        kinds = {t.split(".", 1)[0] for t in v}
        if len(kinds) > 1:
            raise ConfigError(
                "one policy retries either step calls (Step.*) or jobs (SageMaker.*), not both",
                field="exception_types",
                value=v,
                hint="split it into two RetryPolicy values",
            )
        return tuple(sorted(set(v)))

    @field_validator("interval_seconds")
    @classmethod
    def _interval(cls, v: int) -> int:
        return check_range(v, field="interval_seconds", low=1, high=MAX_INTERVAL_SECONDS, unit="seconds")

    @field_validator("backoff_rate")
    @classmethod
    def _backoff(cls, v: float) -> float:
        if not math.isfinite(v) or v < 1.0:
            raise ConfigError(
                "must be a finite number >= 1.0", field="backoff_rate", value=v, hint="e.g. 2.0"
            )
        return v

    @field_validator("max_attempts")
    @classmethod
    def _attempts(cls, v: int | None) -> int | None:
        return None if v is None else check_range(v, field="max_attempts", low=1, high=MAX_ATTEMPTS)

    @field_validator("expire_after_minutes")
    @classmethod
    def _expire(cls, v: int | None) -> int | None:
        if v is None:
            return v
        return check_range(
            v, field="expire_after_minutes", low=1, high=MAX_EXPIRE_AFTER_MINUTES, unit="minutes"
        )

    @model_validator(mode="after")
    def _one_limit(self) -> Self:
        if (self.max_attempts is None) == (self.expire_after_minutes is None):
            raise ConfigError(
                "set exactly one of max_attempts and expire_after_minutes",
                field="max_attempts",
                value=(self.max_attempts, self.expire_after_minutes),
                hint="e.g. max_attempts=3",
            )
        return self

    @property
    def retries_jobs(self) -> bool:
        """True for a policy of ``SageMaker.*`` exception types (it starts new jobs)."""
        return self.exception_types[0].startswith("SageMaker.")


#: The default retries of every job step, what a demanding user picks: step calls are retried on service
#: faults and throttling (5 attempts from 5 s, doubling), jobs that failed for a SageMaker internal error
#: or missing EC2 capacity get a new job (3 attempts from 60 s, doubling), and a job refused for an
#: exceeded quota is retried for up to an hour (from 5 minutes, doubling) as running jobs free capacity.
#: A training job retried in one execution resumes from its checkpoints (see ``checkpoints``).
DEFAULT_RETRY_POLICIES: tuple[RetryPolicy, ...] = (
    RetryPolicy(
        exception_types=("Step.SERVICE_FAULT", "Step.THROTTLING"),
        interval_seconds=5,
        backoff_rate=2.0,
        max_attempts=5,
    ),
    RetryPolicy(
        exception_types=("SageMaker.CAPACITY_ERROR", "SageMaker.JOB_INTERNAL_ERROR"),
        interval_seconds=60,
        backoff_rate=2.0,
        max_attempts=3,
    ),
    RetryPolicy(
        exception_types=("SageMaker.RESOURCE_LIMIT",),
        interval_seconds=300,
        backoff_rate=2.0,
        expire_after_minutes=60,
    ),
)

#: The default retries of a step that creates no job (a model): the step-call policy of
#: :data:`DEFAULT_RETRY_POLICIES` only.
DEFAULT_STEP_RETRY_POLICIES: tuple[RetryPolicy, ...] = DEFAULT_RETRY_POLICIES[:1]

_DURATION = re.compile(
    r"^P(?=\d|T\d)(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)


def check_iso8601_duration(value: str, *, field: str) -> str:
    """An ISO 8601 duration as SageMaker's ``CacheConfig.ExpireAfter`` takes it (``P30D``, ``PT12H``,
    ``P1DT6H``, ``P2W``), upper-case, more than zero."""
    m = _DURATION.match(value) if isinstance(value, str) else None
    if m is None or not any(int(g) for g in m.groups() if g is not None):
        raise ConfigError(
            "not an ISO 8601 duration greater than zero",
            field=field,
            value=value,
            hint="e.g. 'P30D' (30 days), 'PT12H' (12 hours), 'P1DT6H', 'P2W'",
        )
    return value


def check_retry_policies(v: tuple[RetryPolicy, ...], *, jobs: bool) -> tuple[RetryPolicy, ...]:
    """Each exception type in one policy only; with ``jobs=False`` (a step that starts no job: model,
    registration) only ``Step.*`` exception types."""
    seen: set[str] = set()
    for i, policy in enumerate(v):
        overlap = sorted(seen & set(policy.exception_types))
        if overlap:
            raise ConfigError(
                "an exception type is retried by two policies",
                field=f"retry_policies[{i}]",
                value=overlap,
                hint="keep each exception type in one policy",
            )
        seen.update(policy.exception_types)
        if not jobs and policy.retries_jobs:
            raise ConfigError(
                "this step creates no job: only Step.* exception types can be retried",
                field=f"retry_policies[{i}]",
                value=policy.exception_types,
                hint="keep the Step.SERVICE_FAULT / Step.THROTTLING policies",
            )
    return v


class JobSettings(StrictModel):
    """Settings of every job step (training, processing, model)."""

    retry_policies: tuple[RetryPolicy, ...] = DEFAULT_RETRY_POLICIES
    """The step's retry policies. Default :data:`DEFAULT_RETRY_POLICIES`; ``()`` leaves only SageMaker
    Pipelines' built-in retries of service faults and throttling."""

    enable_network_isolation: StrictBool = False
    """Run the containers without any network access (``EnableNetworkIsolation``): no internet, no AWS API,
    not even inside the VPC; SageMaker still fetches the inputs and writes the outputs. Default ``False``.
    A ``requirements.txt`` in the code or a ``CA_REPOSITORY_ARN`` cannot work with it (nothing could be
    installed): refused at synth."""

    @field_validator("retry_policies")
    @classmethod
    def _retries(cls, v: tuple[RetryPolicy, ...]) -> tuple[RetryPolicy, ...]:
        return check_retry_policies(v, jobs=True)


class ComputeJobSettings(JobSettings):
    """Settings of the steps that run a job on instances (training and processing)."""

    cache_expire_after: str | None = None
    """Step caching: reuse the results of an earlier successful execution whose step had the same arguments,
    if it is at most this old (ISO 8601 duration, e.g. ``P30D``). Default ``None``: no caching — SageMaker's
    cache key is the step's arguments, not the data behind an S3 URI, so a step reading a location whose
    content changed would otherwise reuse stale results."""

    encrypt_inter_container_traffic: StrictBool = False
    """Encrypt the traffic between the instances of a multi-instance job
    (``EnableInterContainerTrafficEncryption``; slower distributed training). Default ``False``."""

    @field_validator("cache_expire_after")
    @classmethod
    def _cache(cls, v: str | None) -> str | None:
        return None if v is None else check_iso8601_duration(v, field="cache_expire_after")


def check_type_choices(
    choices: tuple[str, ...],
    *,
    default: str,
    field: str,
    default_field: str,
    allowed: tuple[str, ...],
    kind: str,
) -> tuple[str, ...]:
    """Instance types an execution may choose (a pipeline parameter with these ``EnumValues``): each one of
    botocore's enum ``allowed``, no repeats, and the config's own instance type among them."""
    from constructs_lib.config.base import check_instance_type

    if not choices:
        return choices
    for i, choice in enumerate(choices):
        check_instance_type(choice, field=f"{field}[{i}]", allowed=allowed, kind=kind)
    dupes = sorted({c for c in choices if choices.count(c) > 1})
    if dupes:
        raise ConfigError("instance type choices repeat", field=field, value=dupes)
    if default not in choices:
        raise ConfigError(
            f"the default {default_field} must be one of the choices",
            field=field,
            value=choices,
            hint=f"add {default!r} or set {default_field} to one of them",
        )
    return choices


def check_count_choices(
    choices: tuple[int, ...], *, default: int, field: str, default_field: str, high: int
) -> tuple[int, ...]:
    """Instance counts an execution may choose: each ``1..high``, no repeats, the default among them."""
    if not choices:
        return choices
    for i, choice in enumerate(choices):
        check_range(choice, field=f"{field}[{i}]", low=1, high=high)
    if len(set(choices)) != len(choices):
        raise ConfigError("instance count choices repeat", field=field, value=choices)
    if default not in choices:
        raise ConfigError(
            f"the default {default_field} must be one of the choices",
            field=field,
            value=choices,
            hint=f"add {default} or set {default_field} to one of them",
        )
    return choices
