"""``PyTorchTrainingConfig``: the seed's parameters for the PyTorch training step, plus what a pipeline needs."""

from __future__ import annotations

import json
from typing import Any, Generic, Literal, Self

from pydantic import Field, SerializeAsAny, StrictInt, ValidationInfo, field_validator, model_validator
from typing_extensions import TypeVar

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

__all__ = ["MAX_RUNTIME_SECONDS", "HyperparametersT", "PyTorchTrainingConfig"]

#: SageMaker's documented ceiling for ``StoppingCondition.MaxRuntimeInSeconds`` (28 days); botocore
#: publishes only the minimum (1).
MAX_RUNTIME_SECONDS = 28 * 24 * 3600

#: The class of a config's ``hyperparameters``: ``ModelHyperparameters`` or a subclass of it.
HyperparametersT = TypeVar("HyperparametersT", bound=ModelHyperparameters, default=ModelHyperparameters)


class PyTorchTrainingConfig(StrictModel, Generic[HyperparametersT]):
    """Configuration of one PyTorch training step (the seed's table, same names and defaults).

    ``hyperparameters`` may be an instance of any subclass of ``ModelHyperparameters`` (your own
    script's fields); it keeps its class through ``model_copy``, and ``model_dump`` / ``fingerprint``
    carry every field of that class. To validate such a dump back, parametrize the config with the class
    (``PyTorchTrainingConfig[MyHyperparameters].model_validate(data)``): the plain class validates the
    ``hyperparameters`` of a dump as ``ModelHyperparameters`` and refuses the subclass's fields as
    unknown (never drops them). A parametrized config is still a ``PyTorchTrainingConfig``.
    """

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

    hyperparameters: SerializeAsAny[HyperparametersT] | None = None
    """Hyperparameters passed to the script: every field of their class (``ModelHyperparameters``, or
    your subclass of it) and nothing else. Default ``None`` (none passed)."""

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

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        """``PyTorchTrainingConfig[MyHyperparameters]`` (class names only, in error messages too)."""
        return f"{cls.__name__}[{', '.join(getattr(p, '__name__', str(p)) for p in params)}]"

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

    # ------------------------------------------------------------------ derived
    @property
    def is_local_source(self) -> bool:
        """True when ``source_dir`` is a local directory (packed and shipped as an asset)."""
        return not self.source_dir.startswith("s3://")

    def hyperparameter_payload(self) -> dict[str, object]:
        """All hyperparameter values (plain JSON values, keys sorted); ``{}`` without hyperparameters."""
        return self.hyperparameters.to_values() if self.hyperparameters is not None else {}

    def fingerprint(self) -> str:
        """Canonical JSON of the config, every field of the hyperparameters' class included (for reports
        and cache keys)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
