"""``PyTorchModelConfig``: a SageMaker model serving the trained PyTorch network (the seed's model step)."""

from __future__ import annotations

import re
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
from constructs_lib.config.job import (
    DEFAULT_STEP_RETRY_POLICIES,
    JobSettings,
    RetryPolicy,
    check_retry_policies,
)
from constructs_lib.errors import ConfigError

__all__ = [
    "GRAVITON_FAMILIES",
    "INFERENCE_SCRIPTS_DIR",
    "SDK_MODEL_ENV",
    "PyTorchModelConfig",
    "check_hosting_instance_type",
    "check_serving_env",
    "check_version_pair",
]

#: The shipped inference code (``inference.py``).
INFERENCE_SCRIPTS_DIR = SCRIPTS_DIR / "pytorch_inference"

#: Environment variables the library sets on the model container itself (script, code directory, log
#: level, region, as the SDK does for a framework model): they may not be set in ``env`` and count
#: against botocore's 100-entry limit.
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


def check_hosting_instance_type(v: str, *, field: str) -> str:
    """``v`` is a botocore ``ProductionVariantInstanceType`` the PyTorch inference image runs on (CPU, GPU,
    or a Graviton family the SDK has images for; no Inferentia/Trainium)."""
    check_instance_type(v, field=field, allowed=limits.hosting_instance_types(), kind="hosting")
    family = v.split(".")[1] if v.count(".") == 2 else ""
    if family.startswith(("inf", "trn")):
        raise ConfigError(
            "the PyTorch inference image has CPU and GPU builds only",
            field=field,
            value=v,
            hint="use a CPU (ml.m5.large) or GPU (ml.g5.xlarge) instance type",
        )
    if _ARM_FAMILY.match(family) and family not in GRAVITON_FAMILIES:
        raise ConfigError(
            "the SageMaker SDK has no PyTorch Graviton image for this instance family",
            field=field,
            value=v,
            hint=f"use an x86 type (ml.m5.large) or a family of {', '.join(GRAVITON_FAMILIES)}",
        )
    return v


def check_serving_env(v: dict[str, str], *, field: str = "env") -> dict[str, str]:
    """A model container's ``Environment`` (botocore ``EnvironmentMap``) without the variables the library
    sets (:data:`SDK_MODEL_ENV`); returned sorted."""
    check_env(
        v, field=field, map_shape="EnvironmentMap", key_shape="EnvironmentKey", value_shape="EnvironmentValue"
    )
    reserved = sorted(set(v) & set(SDK_MODEL_ENV))
    if reserved:
        raise ConfigError(
            "these variables are set by the library",
            field=field,
            value=reserved,
            hint="remove them; entry_point names the handler, the training step packs it",
        )
    limit = (limits.shape("EnvironmentMap").max or 100) - len(SDK_MODEL_ENV)
    if len(v) > limit:
        raise ConfigError(
            f"too many environment variables: {len(v)}",
            field=field,
            hint=f"at most {limit}: the library adds {len(SDK_MODEL_ENV)} to botocore's limit of "
            f"{limit + len(SDK_MODEL_ENV)}",
        )
    return dict(sorted(v.items()))


def check_version_pair(framework_version: str | None, py_version: str | None, *, scope: str) -> None:
    """Both ``None`` (taken from the training step at build time) or a pair the SDK has images for."""
    if (framework_version is None) != (py_version is None):
        missing = "py_version" if py_version is None else "framework_version"
        raise ConfigError(
            "set framework_version and py_version together, or neither (then the training step's are used)",
            field=missing,
            hint="e.g. framework_version='2.3.0', py_version='py311'",
        )
    if framework_version is not None and py_version is not None:
        check_framework_pair("pytorch", scope, framework_version, py_version)


#: Fields the model step no longer has: the inference code now travels inside model.tar.gz.
_MOVED = {
    "source_dir": "set inference_source_dir (and inference_entry_point) on the training step's "
    "PyTorchTrainingConfig: the training job packs the handler into model.tar.gz's code/",
    "output_path": "there is no repack job any more: the model uses the training step's model.tar.gz as it is",
}


class PyTorchModelConfig(JobSettings):
    """Configuration of the PyTorch model step: a ``CreateModel`` with SageMaker's PyTorch *inference*
    image and the training step's ``model.tar.gz`` as it is.

    The handler is the one the training step packed into ``code/`` of its ``model.tar.gz``
    (``PyTorchTrainingConfig.inference_source_dir``, or the reference inference code for the reference
    training code); the template refuses a model fed by a training step that packs none, or another one.
    No repack job runs; see :class:`~constructs_lib.builders.model_pytorch.PyTorchModelStepBuilder`.
    """

    SHIPPED_ENTRY_POINT: ClassVar[str] = "inference.py"

    retry_policies: tuple[RetryPolicy, ...] = DEFAULT_STEP_RETRY_POLICIES
    """The step's retry policies (``Step.*`` exception types only: a model step starts no job). Default: the
    step-call policy of :data:`~constructs_lib.config.job.DEFAULT_RETRY_POLICIES`."""

    framework_version: str | None = None
    """PyTorch version of the inference image, e.g. ``1.13.1`` or ``2.3.0``; must be in the installed
    SageMaker SDK's PyTorch *inference* image catalogue. Default ``None``: the version of the training
    step that feeds ``model_data`` (an error when none does). Set it together with ``py_version``."""

    py_version: str | None = None
    """Python version of the inference image, e.g. ``py39``; pairs with ``framework_version``. Default
    ``None``: the training step's."""

    inference_instance_type: str = "ml.m5.large"
    """Instance type the model is meant to be hosted on; one of botocore's ``ProductionVariantInstanceType``
    values. It selects the CPU, GPU or Graviton image (for Graviton, ``framework_version`` must be in the
    SDK's ``inference_graviton`` catalogue). Inferentia/Trainium types need Neuron images and are refused.
    Default ``ml.m5.large``."""

    entry_point: str = "inference.py"
    """The handler in ``model.tar.gz``'s ``code/`` (``SAGEMAKER_PROGRAM``), a ``.py`` file with
    ``model_fn``/``input_fn``/``predict_fn``/``output_fn``. It must be what the training step feeding
    ``model_data`` packs (its ``inference_entry_point``; checked when the pipeline is built). Default
    ``inference.py``."""

    env: dict[str, str] = Field(default_factory=dict)
    """Environment variables of the model container (botocore ``EnvironmentMap``: names
    ``[a-zA-Z_][a-zA-Z0-9_]*`` up to 1024 characters, values up to 1024 characters, at most 96 entries since
    the library adds ``SAGEMAKER_PROGRAM``, ``SAGEMAKER_SUBMIT_DIRECTORY``, ``SAGEMAKER_CONTAINER_LOG_LEVEL``
    and ``SAGEMAKER_REGION``, which therefore may not be set here). Default ``{}``."""

    model_data: str | None = None
    """S3 URI of a ``model.tar.gz`` that holds its handler in ``code/``. Used only when no predecessor step
    provides ``model_data``. Default ``None``: a pipeline parameter ``<node>ModelData`` whose default is
    ``<artifact root>/<pipeline>/<node>/input/model.tar.gz``."""

    region: str | None = None
    """AWS region for image URIs. Default ``None``: the pipeline's (stack's) region."""

    @model_validator(mode="before")
    @classmethod
    def _moved_fields(cls, data: object) -> object:
        if isinstance(data, dict):
            for name, hint in _MOVED.items():
                if name in data:
                    raise ConfigError(
                        "the model step packs no code any more", field=name, value=data[name], hint=hint
                    )
        return data

    @field_validator("framework_version", "py_version")
    @classmethod
    def _present(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return v
        return check_present(v, field=info.field_name or "value", hint="e.g. framework 2.3.0 with py311")

    @field_validator("inference_instance_type")
    @classmethod
    def _instance_type(cls, v: str) -> str:
        return check_hosting_instance_type(v, field="inference_instance_type")

    @field_validator("entry_point")
    @classmethod
    def _entry_point(cls, v: str) -> str:
        return check_entry_point(v, field="entry_point", example="inference.py")

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

    @field_validator("retry_policies")
    @classmethod
    def _step_retries_only(cls, v: tuple[RetryPolicy, ...]) -> tuple[RetryPolicy, ...]:
        return check_retry_policies(v, jobs=False)

    @model_validator(mode="after")
    def _checks(self) -> Self:
        check_version_pair(self.framework_version, self.py_version, scope="inference")
        if self.framework_version is not None and self.py_version is not None and self.is_graviton:
            check_framework_pair("pytorch", "inference_graviton", self.framework_version, self.py_version)
        return self

    # ------------------------------------------------------------------ derived
    @property
    def is_graviton(self) -> bool:
        """True when ``inference_instance_type`` is a Graviton (arm64) type."""
        return self.inference_instance_type.split(".")[1] in GRAVITON_FAMILIES
