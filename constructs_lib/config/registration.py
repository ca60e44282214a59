"""``ModelRegistrationConfig``: register the trained model as a version of a model package group in the
SageMaker model registry, for a person or an approval rule to approve."""

from __future__ import annotations

import hashlib
import re
from typing import Literal, Self

from pydantic import Field, ValidationInfo, field_validator, model_validator

from constructs_lib import limits
from constructs_lib.config.base import (
    StrictModel,
    check_entry_point,
    check_instance_type,
    check_region,
    check_s3_uri,
)
from constructs_lib.config.job import DEFAULT_STEP_RETRY_POLICIES, RetryPolicy, check_retry_policies
from constructs_lib.config.model_pytorch import (
    GRAVITON_FAMILIES,
    check_hosting_instance_type,
    check_serving_env,
    check_version_pair,
)
from constructs_lib.errors import ConfigError
from constructs_lib.names import parse_group_arn

__all__ = ["APPROVAL_STATUSES", "ModelRegistrationConfig", "default_group_name"]

#: SageMaker's model approval statuses (botocore ``ModelApprovalStatus``).
APPROVAL_STATUSES = ("Approved", "Rejected", "PendingManualApproval")

_PARAMETER = re.compile(r"^[A-Za-z0-9\-_]{1,256}$")


def default_group_name(pipeline_name: str) -> str:
    """The model package group of pipeline ``pipeline_name``: its name when it fits SageMaker's 63
    characters, else its first 54 characters, ``-`` and 8 hex digits of its SHA-256."""
    if len(pipeline_name) <= 63:
        return pipeline_name
    digest = hashlib.sha256(pipeline_name.encode("utf-8")).hexdigest()[:8]
    return f"{pipeline_name[:54].rstrip('-')}-{digest}"


def _processor(instance_type: str) -> str:
    family = instance_type.split(".")[1] if instance_type.count(".") == 2 else ""
    if family in GRAVITON_FAMILIES:
        return "graviton"
    return "gpu" if family.startswith(("g", "p")) else "cpu"


class ModelRegistrationConfig(StrictModel):
    """Configuration of the registration step: ``Model(...).register(...)`` in a ``ModelStep`` (one
    ``CreateModelPackage``, no repack job) into a model package group.

    The model package serves the training step's ``model.tar.gz`` as it is, with the handler the training
    step packed into its ``code/`` (checked), in SageMaker's PyTorch inference image. The evaluation
    step's report, when an evaluation step feeds ``evaluation``, is attached as the package's model
    statistics. The approval status is the pipeline parameter ``approval_parameter_name``
    (default ``PendingManualApproval``), so an execution may register an approved version directly.
    By default the CDK construct creates the group (``AWS::SageMaker::ModelPackageGroup``).
    """

    retry_policies: tuple[RetryPolicy, ...] = DEFAULT_STEP_RETRY_POLICIES
    """The step's retry policies (``Step.*`` exception types only: a registration starts no job). Default:
    the step-call policy of :data:`~constructs_lib.config.job.DEFAULT_RETRY_POLICIES`."""

    model_package_group_name: str | None = None
    """The group the CDK construct creates and the model is registered into (botocore ``EntityName``: 1-63
    characters ``[a-zA-Z0-9](-*[a-zA-Z0-9])*``). Default ``None``: derived from the pipeline name (the
    name itself when it fits 63 characters). Not with ``model_package_group_arn``."""

    model_package_group_arn: str | None = None
    """The ARN of an existing group to register into instead (``arn:aws:sagemaker:<region>:<account>:
    model-package-group/<name>``); the construct creates no group and grants the pipeline role
    ``CreateModelPackage`` in that group only. Default ``None``."""

    approval_status: Literal["PendingManualApproval", "Approved", "Rejected"] = "PendingManualApproval"
    """Default of the approval-status pipeline parameter (SageMaker's ``ModelApprovalStatus`` values,
    which are also the parameter's allowed values). Default ``PendingManualApproval``: a person or an
    approval rule approves the version."""

    approval_parameter_name: str = "ModelApprovalStatus"
    """Name of that pipeline parameter (1-256 characters of ``A-Za-z0-9-_``). Default
    ``ModelApprovalStatus``."""

    inference_instances: tuple[str, ...] = ("ml.m5.large",)
    """Instance types the version may be deployed to for real-time inference (botocore
    ``ProductionVariantInstanceType``); all CPU, all GPU or all Graviton, since one image serves them (the
    first one selects it). Default ``("ml.m5.large",)``."""

    transform_instances: tuple[str, ...] = ("ml.m5.large",)
    """Instance types for batch transform (botocore ``TransformInstanceType``). Default
    ``("ml.m5.large",)``."""

    content_types: tuple[str, ...] = ("text/csv", "application/json")
    """Request content types the handler accepts. Default ``("text/csv", "application/json")`` (the
    reference handler's)."""

    response_types: tuple[str, ...] = ("application/json", "text/csv")
    """Response MIME types the handler produces. Default ``("application/json", "text/csv")``."""

    framework_version: str | None = None
    """PyTorch version of the inference image. Default ``None``: the training step's (an error when no
    training step feeds ``model_data``). Set it together with ``py_version``."""

    py_version: str | None = None
    """Python version of the inference image. Default ``None``: the training step's."""

    inference_entry_point: str = "inference.py"
    """The handler in ``model.tar.gz``'s ``code/`` (``SAGEMAKER_PROGRAM``); it must be what the training
    step packs (checked when the pipeline is built). Default ``inference.py``."""

    description: str | None = None
    """The model package's description (botocore ``EntityDescription``, at most 1,024 characters).
    Default ``None``: none."""

    env: dict[str, str] = Field(default_factory=dict)
    """Environment variables of the serving container (as ``PyTorchModelConfig.env``). Default ``{}``."""

    model_data: str | None = None
    """S3 URI of a ``model.tar.gz`` (with its handler in ``code/``). Used only when no predecessor step
    provides ``model_data``. Default ``None``: a pipeline parameter ``<node>ModelData``."""

    region: str | None = None
    """AWS region for image URIs. Default ``None``: the pipeline's (stack's) region."""

    @field_validator("retry_policies")
    @classmethod
    def _step_retries_only(cls, v: tuple[RetryPolicy, ...]) -> tuple[RetryPolicy, ...]:
        return check_retry_policies(v, jobs=False)

    @field_validator("model_package_group_name")
    @classmethod
    def _group_name(cls, v: str | None) -> str | None:
        shape = limits.shape("EntityName")
        if v is not None and (not shape.fullmatch(v) or len(v) > (shape.max or 63)):
            raise ConfigError(
                "not a model package group name",
                field="model_package_group_name",
                value=v,
                hint="1-63 characters of letters, digits and '-', starting and ending with a letter or digit",
            )
        return v

    @field_validator("model_package_group_arn")
    @classmethod
    def _group_arn(cls, v: str | None) -> str | None:
        if v is not None and parse_group_arn(v) is None:
            raise ConfigError(
                "not a model package group ARN",
                field="model_package_group_arn",
                value=v,
                hint="arn:aws:sagemaker:<region>:<account>:model-package-group/<name>",
            )
        return v

    @field_validator("approval_parameter_name")
    @classmethod
    def _parameter(cls, v: str) -> str:
        if not _PARAMETER.match(v):
            raise ConfigError(
                "not a pipeline parameter name",
                field="approval_parameter_name",
                value=v,
                hint="A-Za-z0-9-_, 1-256",
            )
        return v

    @field_validator("inference_instances")
    @classmethod
    def _inference_instances(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ConfigError(
                "at least one instance type", field="inference_instances", hint="e.g. ('ml.m5.large',)"
            )
        for i, item in enumerate(v):
            check_hosting_instance_type(item, field=f"inference_instances[{i}]")
        kinds = sorted({_processor(t) for t in v})
        if len(kinds) > 1:
            raise ConfigError(
                f"mixes {' and '.join(kinds)} instance types, but one image serves the version",
                field="inference_instances",
                value=v,
                hint="list CPU, GPU or Graviton types only (register another version for the others)",
            )
        return tuple(v)

    @field_validator("transform_instances")
    @classmethod
    def _transform_instances(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ConfigError(
                "at least one instance type", field="transform_instances", hint="e.g. ('ml.m5.large',)"
            )
        allowed = limits.shape("TransformInstanceType").enum
        for i, item in enumerate(v):
            check_instance_type(item, field=f"transform_instances[{i}]", allowed=allowed, kind="transform")
        return tuple(v)

    @field_validator("content_types", "response_types")
    @classmethod
    def _mime(cls, v: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        name = info.field_name or "content_types"
        shape = limits.shape("ContentType" if name == "content_types" else "ResponseMIMEType")
        if not v:
            raise ConfigError("at least one MIME type", field=name, hint="e.g. ('text/csv',)")
        for i, item in enumerate(v):
            if (
                not re.fullmatch(r"[-\w.+]+/[-\w.+*]+", item)
                or not shape.fullmatch(item)
                or len(item) > (shape.max or 256)
            ):
                raise ConfigError("not a MIME type", field=f"{name}[{i}]", value=item, hint="e.g. 'text/csv'")
        return tuple(v)

    @field_validator("inference_entry_point")
    @classmethod
    def _handler(cls, v: str) -> str:
        return check_entry_point(v, field="inference_entry_point", example="inference.py")

    @field_validator("description")
    @classmethod
    def _description(cls, v: str | None) -> str | None:
        shape = limits.shape("EntityDescription")
        if v is not None and len(v) > (shape.max or 1024):
            raise ConfigError(
                f"description is {len(v)} characters; SageMaker allows {shape.max or 1024}",
                field="description",
            )
        return v

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        return check_serving_env(v)

    @field_validator("model_data")
    @classmethod
    def _model_data(cls, v: str | None) -> str | None:
        return None if v is None else check_s3_uri(v, field="model_data", require_suffix=".tar.gz")

    @field_validator("region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        return check_region(v)

    @model_validator(mode="after")
    def _checks(self) -> Self:
        if self.model_package_group_name is not None and self.model_package_group_arn is not None:
            raise ConfigError(
                "give model_package_group_name (a group the construct creates) or model_package_group_arn "
                "(an existing group), not both",
                field="model_package_group_arn",
                value=self.model_package_group_arn,
            )
        check_version_pair(self.framework_version, self.py_version, scope="inference")
        return self

    # ------------------------------------------------------------------ derived
    @property
    def image_instance_type(self) -> str:
        """The instance type that selects the inference image (the first of ``inference_instances``)."""
        return self.inference_instances[0]

    def group(self, pipeline_name: str) -> str:
        """The group registered into: the ARN of an existing one, else the name (configured or derived)."""
        if self.model_package_group_arn is not None:
            return self.model_package_group_arn
        return self.model_package_group_name or default_group_name(pipeline_name)
