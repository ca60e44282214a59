"""``PyTorchTrainingConfig``: the seed's parameters for the PyTorch training step, plus what a pipeline needs."""

from __future__ import annotations

import json
from typing import Literal, Self

from pydantic import Field, StrictInt, ValidationInfo, field_validator, model_validator

from constructs_lib import limits
from constructs_lib.codeartifact import CA_REPOSITORY_ARN_ENV, parse_repository_arn
from constructs_lib.config.base import (
    StrictModel,
    check_entry_point,
    check_env,
    check_framework_pair,
    check_instance_type,
    check_present,
    check_range,
    check_region,
    check_s3_uri,
    check_source_location,
)
from constructs_lib.config.hyperparameters import ModelHyperparameters
from constructs_lib.errors import ConfigError

__all__ = ["MAX_RUNTIME_SECONDS", "PyTorchTrainingConfig"]

#: SageMaker's documented ceiling for ``StoppingCondition.MaxRuntimeInSeconds`` (28 days); botocore
#: publishes only the minimum (1).
MAX_RUNTIME_SECONDS = 28 * 24 * 3600


class PyTorchTrainingConfig(StrictModel):
    """Configuration of one PyTorch training step (the seed's table, same names and defaults)."""

    training_instance_type: str = "ml.g5.12xlarge"
    """Instance type of the training job; one of botocore's ``TrainingInstanceType`` values.
    Default ``ml.g5.12xlarge`` (4 GPUs: the builder turns on SageMaker's ``torch_distributed`` launcher)."""

    training_instance_count: StrictInt = 1
    """Number of training instances, ``>= 1``. Default ``1``."""

    training_volume_size: StrictInt = 30
    """ML storage volume per instance in GB, ``1..16384``. Default ``30``."""

    training_entry_point: str = "train.py"
    """Script run by the training toolkit, relative to ``source_dir``; a ``.py`` file. Default ``train.py``."""

    source_dir: str
    """Required. A local directory holding the entry point (packed into a deterministic
    ``sourcedir.tar.gz`` and shipped as a CDK asset), or an ``s3://…/sourcedir.tar.gz`` used as is."""

    framework_version: str
    """Required. PyTorch version of the training image, e.g. ``1.13.1`` or ``2.3.0``."""

    py_version: str
    """Required. Python version of the training image, e.g. ``py39``; must pair with ``framework_version``."""

    hyperparameters: ModelHyperparameters | None = None
    """Model hyperparameters passed to the script. Default ``None`` (none passed)."""

    env: dict[str, str] = Field(default_factory=dict)
    """Environment variables of the training job (botocore ``TrainingEnvironmentMap``: at most 100, names
    ``[a-zA-Z_][a-zA-Z0-9_]*`` up to 512 chars, values up to 512 chars). ``CA_REPOSITORY_ARN`` must be a
    CodeArtifact repository ARN; it grants the job read access to that repository. Default ``{}``."""

    input_path: str | None = None
    """S3 URI of the data directory (``train/``, ``val/``, ``test/``). Used only when no predecessor step
    provides ``input_path``. Default ``None``: a pipeline parameter ``<Node>InputPath`` is created whose
    default is ``<artifact root>/<pipeline>/input/<node>/``."""

    output_path: str | None = None
    """S3 URI under which SageMaker writes model artifacts. Default ``None``:
    ``<artifact root>/<pipeline>/<node>/``, in the construct's artifact bucket."""

    max_runtime_seconds: StrictInt = 24 * 3600
    """Job time limit (``StoppingCondition.MaxRuntimeInSeconds``), ``1..2419200``. Default ``86400`` (1 day)."""

    distribution: Literal["auto", "off"] = "auto"
    """``auto`` (default): SageMaker's ``torch_distributed`` launcher (DDP, one process per GPU) when the
    instance has more than one GPU or there is more than one GPU instance; CPU multi-instance jobs run one
    process per host that joins a gloo group. ``off``: always a single process per host."""

    region: str | None = None
    """AWS region for image URIs. Default ``None``: the pipeline's (stack's) region."""

    # ------------------------------------------------------------------ inference code in model.tar.gz
    inference_source_dir: str | None = None
    """Local directory with the model's inference code (a handler defining ``model_fn``, ``input_fn``,
    ``predict_fn``, ``output_fn`` and whatever it imports). The training step packs it into the code
    tarball and the job copies it into ``model.tar.gz``'s ``code/`` after the training script succeeded,
    where SageMaker's PyTorch serving container imports it: the model, evaluation and registration steps use
    the training output as it is, with no repack job. Default ``None``: the library's reference inference
    code (``inference.py`` + ``model.py``) when ``source_dir`` is the reference training directory (it
    reads what the reference ``train.py`` writes); otherwise no inference code is packed, and a model,
    evaluation or registration step fed by this training step is refused (the library never guesses which
    handler fits your script's model files)."""

    inference_entry_point: str = "inference.py"
    """The handler script, relative to ``inference_source_dir`` (the model's ``SAGEMAKER_PROGRAM``); a
    ``.py`` file. Used only when inference code is packed. Default ``inference.py`` (the only value with
    the reference inference code)."""

    @field_validator("training_instance_type")
    @classmethod
    def _instance_type(cls, v: str) -> str:
        return check_instance_type(
            v, field="training_instance_type", allowed=limits.training_instance_types(), kind="training"
        )

    @field_validator("training_instance_count")
    @classmethod
    def _count(cls, v: int) -> int:
        if v < 1:
            raise ConfigError("must be >= 1", field="training_instance_count", value=v)
        return v

    @field_validator("training_volume_size")
    @classmethod
    def _volume(cls, v: int) -> int:
        low = limits.shape("VolumeSizeInGB").min or 1
        high = limits.max_volume_size_gb()
        return check_range(
            v, field="training_volume_size", low=low, high=high, unit="GB", what="volume size out of range"
        )

    @field_validator("training_entry_point")
    @classmethod
    def _entry_point(cls, v: str) -> str:
        return check_entry_point(v, field="training_entry_point")

    @field_validator("source_dir")
    @classmethod
    def _source_dir(cls, v: str) -> str:
        if not v or not v.strip():
            raise ConfigError(
                "must be provided",
                field="source_dir",
                value=v,
                hint="a local directory with the entry point, or s3://…/sourcedir.tar.gz",
            )
        return check_source_location(v)

    @field_validator("framework_version", "py_version")
    @classmethod
    def _present(cls, v: str, info: ValidationInfo) -> str:
        return check_present(v, field=info.field_name or "value", hint="e.g. framework 2.3.0 with py311")

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        check_env(v, field="env")
        if CA_REPOSITORY_ARN_ENV in v:
            parse_repository_arn(v[CA_REPOSITORY_ARN_ENV])
        return dict(sorted(v.items()))

    @field_validator("input_path", "output_path")
    @classmethod
    def _s3(cls, v: str | None, info: object) -> str | None:
        if v is None:
            return v
        return check_s3_uri(v, field=getattr(info, "field_name", "path"))

    @field_validator("max_runtime_seconds")
    @classmethod
    def _runtime(cls, v: int) -> int:
        low = limits.shape("MaxRuntimeInSeconds").min or 1
        return check_range(v, field="max_runtime_seconds", low=low, high=MAX_RUNTIME_SECONDS, unit="seconds")

    @field_validator("region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        return check_region(v)

    @model_validator(mode="after")
    def _pair(self) -> Self:
        check_framework_pair("pytorch", "training", self.framework_version, self.py_version)
        return self

    @field_validator("inference_source_dir")
    @classmethod
    def _inference_source_dir(cls, v: str | None) -> str | None:
        if v is not None and (not v.strip() or "://" in v):
            raise ConfigError(
                "must be a local directory",
                field="inference_source_dir",
                value=v,
                hint="a local directory with your inference handler, or None",
            )
        return v

    @field_validator("inference_entry_point")
    @classmethod
    def _inference_entry_point(cls, v: str) -> str:
        return check_entry_point(v, field="inference_entry_point", example="inference.py")

    @model_validator(mode="after")
    def _inference_code(self) -> Self:
        from constructs_lib.inference_code import (
            ENTRY_POINT_ENV,
            INFERENCE_CODE_ENV,
            REFERENCE_INFERENCE_ENTRY_POINT,
        )

        if self.inference_source_dir is not None and not self.is_local_source:
            raise ConfigError(
                "inference code can only be packed beside a local source_dir (an s3:// tarball is used "
                "as it is)",
                field="inference_source_dir",
                value=self.inference_source_dir,
                hint="use a local source_dir, or put the handler into your tarball and write it to "
                "$SM_MODEL_DIR/code/ from your training script",
            )
        if (
            self.inference_code == "reference"
            and self.inference_entry_point != REFERENCE_INFERENCE_ENTRY_POINT
        ):
            raise ConfigError(
                "with the reference inference code (inference_source_dir=None) the handler is fixed",
                field="inference_entry_point",
                value=self.inference_entry_point,
                hint=f"leave it at {REFERENCE_INFERENCE_ENTRY_POINT!r}, or set inference_source_dir",
            )
        if self.inference_code is not None:
            reserved = sorted({ENTRY_POINT_ENV, INFERENCE_CODE_ENV} & set(self.env))
            if reserved:
                raise ConfigError(
                    "these variables are set by the training step when it packs inference code",
                    field="env",
                    value=reserved,
                    hint="remove them; training_entry_point and inference_source_dir choose the scripts",
                )
            limit = (limits.shape("TrainingEnvironmentMap").max or 100) - 2
            if len(self.env) > limit:
                raise ConfigError(
                    f"too many environment variables: {len(self.env)}",
                    field="env",
                    hint=f"at most {limit}: packing inference code adds {ENTRY_POINT_ENV} and {INFERENCE_CODE_ENV}",
                )
        return self

    # ------------------------------------------------------------------ derived
    @property
    def is_local_source(self) -> bool:
        """True when ``source_dir`` is a local directory (packed and shipped as an asset)."""
        return not self.source_dir.startswith("s3://")

    @property
    def inference_code(self) -> str | None:
        """What inference code the training step packs into ``model.tar.gz``: ``"reference"`` (the
        library's, for the reference training code), ``"custom"`` (``inference_source_dir``) or ``None``."""
        from constructs_lib.inference_code import is_reference_training_dir

        if self.inference_source_dir is not None:
            return "custom"
        if self.is_local_source and is_reference_training_dir(self.source_dir):
            return "reference"
        return None

    def hyperparameter_payload(self) -> dict[str, object]:
        """All hyperparameter values (plain JSON values, keys sorted); ``{}`` without hyperparameters."""
        return self.hyperparameters.to_values() if self.hyperparameters is not None else {}

    def fingerprint(self) -> str:
        """Canonical JSON of the config (for reports and cache keys)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
