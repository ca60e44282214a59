"""``PyTorchModelConfig``: a SageMaker model serving the trained PyTorch network (the seed's model step)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar, Self

from pydantic import Field, ValidationInfo, field_validator, model_validator

from constructs_lib import limits
from constructs_lib.config.base import (
    SCRIPTS_DIR,
    check_entry_point,
    check_env,
    check_framework_pair,
    check_instance_type,
    check_present,
    check_region,
    check_s3_uri,
)
from constructs_lib.config.job import DEFAULT_STEP_RETRY_POLICIES, JobSettings, RetryPolicy
from constructs_lib.errors import ConfigError

__all__ = ["GRAVITON_FAMILIES", "INFERENCE_SCRIPTS_DIR", "SDK_MODEL_ENV", "PyTorchModelConfig"]

#: The shipped inference code (``inference.py``).
INFERENCE_SCRIPTS_DIR = SCRIPTS_DIR / "pytorch_inference"

#: Environment variables the SageMaker SDK sets on the model container itself (script, code directory,
#: log level, region): they may not be set in ``env`` and count against botocore's 100-entry limit.
SDK_MODEL_ENV = (
    "SAGEMAKER_CONTAINER_LOG_LEVEL",
    "SAGEMAKER_PROGRAM",
    "SAGEMAKER_REGION",
    "SAGEMAKER_SUBMIT_DIRECTORY",
)


#: Instance families for which the SageMaker SDK picks its Graviton (arm64) inference images (a copy of
#: ``sagemaker.fw_utils.GRAVITON_ALLOWED_TARGET_INSTANCE_FAMILY``, kept equal by a test, so validating a
#: config does not import the SDK).
GRAVITON_FAMILIES = ("m6g", "m6gd", "c6g", "c6gd", "c6gn", "c7g", "r6g", "r6gd")

#: An Arm (Graviton) family: letter(s), generation, then "g" (``c6g``, ``m7gd``, ``r8g``).
_ARM_FAMILY = re.compile(r"^[a-z]+\d+g[a-z]*$")


class PyTorchModelConfig(JobSettings):
    """Configuration of the PyTorch model step: a ``CreateModel`` with the PyTorch *inference* image.

    The SageMaker SDK adds the inference code to the training job's ``model.tar.gz`` (under ``code/``) in a
    small repack job that runs before the model is created; see
    :class:`~constructs_lib.builders.model_pytorch.PyTorchModelStepBuilder`.
    """

    SHIPPED_ENTRY_POINT: ClassVar[str] = "inference.py"

    retry_policies: tuple[RetryPolicy, ...] = DEFAULT_STEP_RETRY_POLICIES
    """The step's retry policies (``Step.*`` exception types only: a model step starts no job). Default: the
    step-call policy of :data:`~constructs_lib.config.job.DEFAULT_RETRY_POLICIES`."""

    framework_version: str
    """Required. PyTorch version of the inference image, e.g. ``1.13.1`` or ``2.3.0`` (normally the training
    step's); must be in the installed SageMaker SDK's PyTorch *inference* image catalogue."""

    py_version: str
    """Required. Python version of the inference image, e.g. ``py39``; must pair with ``framework_version``."""

    inference_instance_type: str = "ml.m5.large"
    """Instance type the model is meant to be hosted on; one of botocore's ``ProductionVariantInstanceType``
    values. It selects the CPU, GPU or Graviton image (for Graviton, ``framework_version`` must be in the
    SDK's ``inference_graviton`` catalogue). Inferentia/Trainium types need Neuron images and are refused.
    Default ``ml.m5.large``."""

    entry_point: str = "inference.py"
    """The inference script, relative to ``source_dir``; a ``.py`` file with ``model_fn``/``input_fn``/
    ``predict_fn``/``output_fn``. Default ``inference.py`` (the only allowed value while ``source_dir`` is
    ``None``)."""

    source_dir: str | None = None
    """Local directory with the inference code. Default ``None``: the shipped ``inference.py``, which loads
    ``model.pt`` + ``model_meta.json`` as the library's reference ``train.py`` writes them (``train.py`` is
    shipped beside it). An ``s3://`` tarball is refused: the SDK's repack job needs two helper files added to
    the code package, which the library does when it packs a local directory."""

    env: dict[str, str] = Field(default_factory=dict)
    """Environment variables of the model container (botocore ``EnvironmentMap``: names
    ``[a-zA-Z_][a-zA-Z0-9_]*`` up to 1024 characters, values up to 1024 characters, at most 96 entries since
    the SDK adds ``SAGEMAKER_PROGRAM``, ``SAGEMAKER_SUBMIT_DIRECTORY``, ``SAGEMAKER_CONTAINER_LOG_LEVEL`` and
    ``SAGEMAKER_REGION``, which therefore may not be set here). Default ``{}``."""

    model_data: str | None = None
    """S3 URI of a ``model.tar.gz``. Used only when no predecessor step provides ``model_data``. Default
    ``None``: a pipeline parameter ``<node>ModelData`` whose default is
    ``<artifact root>/<pipeline>/<node>/input/model.tar.gz``."""

    output_path: str | None = None
    """S3 prefix where the repack job writes the ``model.tar.gz`` with the inference code. Default ``None``:
    ``<artifact root>/<pipeline>/<node>/model``."""

    region: str | None = None
    """AWS region for image URIs. Default ``None``: the pipeline's (stack's) region."""

    @field_validator("framework_version", "py_version")
    @classmethod
    def _present(cls, v: str, info: ValidationInfo) -> str:
        return check_present(v, field=info.field_name or "value", hint="e.g. framework 2.3.0 with py311")

    @field_validator("inference_instance_type")
    @classmethod
    def _instance_type(cls, v: str) -> str:
        check_instance_type(
            v, field="inference_instance_type", allowed=limits.hosting_instance_types(), kind="hosting"
        )
        family = v.split(".")[1] if v.count(".") == 2 else ""
        if family.startswith(("inf", "trn")):
            raise ConfigError(
                "the PyTorch inference image has CPU and GPU builds only",
                field="inference_instance_type",
                value=v,
                hint="use a CPU (ml.m5.large) or GPU (ml.g5.xlarge) instance type",
            )
        if _ARM_FAMILY.match(family) and family not in GRAVITON_FAMILIES:
            raise ConfigError(
                "the SageMaker SDK has no PyTorch Graviton image for this instance family",
                field="inference_instance_type",
                value=v,
                hint=f"use an x86 type (ml.m5.large) or a family of {', '.join(GRAVITON_FAMILIES)}",
            )
        return v

    @field_validator("entry_point")
    @classmethod
    def _entry_point(cls, v: str) -> str:
        return check_entry_point(v, field="entry_point")

    @field_validator("source_dir")
    @classmethod
    def _source_dir(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not v.strip() or "://" in v:
            raise ConfigError(
                "must be a local directory",
                field="source_dir",
                value=v,
                hint="None for the shipped inference.py, or a local directory with your inference script",
            )
        return v

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        check_env(
            v,
            field="env",
            map_shape="EnvironmentMap",
            key_shape="EnvironmentKey",
            value_shape="EnvironmentValue",
        )
        reserved = sorted(set(v) & set(SDK_MODEL_ENV))
        if reserved:
            raise ConfigError(
                "these variables are set by the SageMaker SDK",
                field="env",
                value=reserved,
                hint="remove them; use entry_point/source_dir to choose the inference script",
            )
        limit = (limits.shape("EnvironmentMap").max or 100) - len(SDK_MODEL_ENV)
        if len(v) > limit:
            raise ConfigError(
                f"too many environment variables: {len(v)}",
                field="env",
                hint=f"at most {limit}: the SDK adds {len(SDK_MODEL_ENV)} to botocore's limit of {limit + len(SDK_MODEL_ENV)}",
            )
        return dict(sorted(v.items()))

    @field_validator("model_data")
    @classmethod
    def _model_data(cls, v: str | None) -> str | None:
        return None if v is None else check_s3_uri(v, field="model_data", require_suffix=".tar.gz")

    @field_validator("output_path")
    @classmethod
    def _output_path(cls, v: str | None) -> str | None:
        return None if v is None else check_s3_uri(v, field="output_path").rstrip("/")

    @field_validator("region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        return check_region(v)

    @field_validator("retry_policies")
    @classmethod
    def _step_retries_only(cls, v: tuple[RetryPolicy, ...]) -> tuple[RetryPolicy, ...]:
        jobs = [i for i, p in enumerate(v) if p.retries_jobs]
        if jobs:
            raise ConfigError(
                "a model step creates no job: only Step.* exception types can be retried",
                field=f"retry_policies[{jobs[0]}]",
                value=v[jobs[0]].exception_types,
                hint="keep the Step.SERVICE_FAULT / Step.THROTTLING policies",
            )
        return v

    @model_validator(mode="after")
    def _checks(self) -> Self:
        check_framework_pair("pytorch", "inference", self.framework_version, self.py_version)
        if self.inference_instance_type.split(".")[1] in GRAVITON_FAMILIES:
            check_framework_pair("pytorch", "inference_graviton", self.framework_version, self.py_version)
        if self.source_dir is None and self.entry_point != self.SHIPPED_ENTRY_POINT:
            raise ConfigError(
                "with the shipped inference code (source_dir=None) the entry point is fixed",
                field="entry_point",
                value=self.entry_point,
                hint=f"leave it at {self.SHIPPED_ENTRY_POINT!r}, or set source_dir to your own code's directory",
            )
        return self

    # ------------------------------------------------------------------ derived
    @property
    def uses_shipped_source(self) -> bool:
        """True when the model serves the shipped ``inference.py``."""
        return self.source_dir is None

    @property
    def local_source_dir(self) -> Path:
        """The directory packed as the model's code."""
        return INFERENCE_SCRIPTS_DIR if self.source_dir is None else Path(self.source_dir)
