"""``ProcessingJobConfig``: the fields every SageMaker Processing step of the library shares (instance,
volume, runtime, image version, code location, environment, outputs), and the command-line limit check of
processing scripts. The data-load and tabular preprocessing configs extend it.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Self

from pydantic import Field, StrictInt, field_validator, model_validator

from constructs_lib import limits
from constructs_lib.config.base import (
    SCRIPTS_DIR,
    check_entry_point,
    check_env,
    check_instance_type,
    check_range,
    check_region,
    check_s3_uri,
    check_source_location,
)
from constructs_lib.config.job import ComputeJobSettings, check_count_choices, check_type_choices
from constructs_lib.errors import ConfigError

__all__ = ["ProcessingJobConfig", "check_processing_arguments"]


#: scikit-learn image versions are looked up in these scopes of the SDK's ``sklearn.json``.
_SKLEARN_SCOPES = ("inference", "training")


def check_processing_arguments(arguments: list[str], *, field: str) -> list[str]:
    """``arguments`` must fit botocore's ``ContainerArguments`` (at most 100 entries of 256 characters)."""
    list_limits = limits.shape("ContainerArguments")
    item_limits = limits.shape("ContainerArgument")
    if list_limits.max is not None and len(arguments) > list_limits.max:
        raise ConfigError(
            f"the step's script would get {len(arguments)} command-line arguments",
            field=field,
            hint=f"SageMaker allows at most {list_limits.max} (ContainerArguments); use fewer values",
        )
    for arg in arguments:
        if item_limits.max is not None and len(arg) > item_limits.max:
            raise ConfigError(
                f"a command-line argument is {len(arg)} characters long",
                field=field,
                value=arg,
                hint=f"SageMaker allows at most {item_limits.max} characters (ContainerArgument)",
            )
    return arguments


def _sklearn_versions() -> dict[str, tuple[str, ...]]:
    from constructs_lib.sdk_adapter import framework_image_catalogue

    versions: dict[str, tuple[str, ...]] = {}
    for scope in _SKLEARN_SCOPES:
        versions.update(framework_image_catalogue("sklearn", scope))
    return versions


def _cpu_family(instance_type: str) -> bool:
    # The SDK picks the image by instance family: g*/p* -> gpu, inf* / trn* -> Neuron, anything else cpu.
    family = instance_type.split(".")[1] if instance_type.count(".") == 2 else ""
    return not family.startswith(("g", "p", "inf", "trn"))


class ProcessingJobConfig(ComputeJobSettings):
    """Fields shared by the library's SageMaker Processing steps (scikit-learn image, shipped script), plus
    the job settings every compute step shares (:class:`~constructs_lib.config.job.ComputeJobSettings`)."""

    #: Directory under ``constructs_lib/scripts`` holding the shipped script (set by each subclass).
    SHIPPED_SOURCE: ClassVar[str] = ""
    #: The shipped script's file name (the default ``processing_entry_point``).
    SHIPPED_ENTRY_POINT: ClassVar[str] = ""

    processing_instance_type: str = "ml.m5.xlarge"
    """Instance type of the processing job; one of botocore's ``ProcessingInstanceType`` values and a CPU
    type (the scikit-learn image has no GPU build). Default ``ml.m5.xlarge``."""

    processing_instance_count: StrictInt = 1
    """Number of instances, ``1..100`` (botocore ``ProcessingInstanceCount``). Default ``1``. The shipped
    scripts do not shard their input: every instance computes the same output, so more than one only
    costs more."""

    processing_volume_size: StrictInt = 30
    """ML storage volume per instance in GB, ``1..16384`` (botocore ``ProcessingVolumeSizeInGB``).
    Default ``30``."""

    max_runtime_seconds: StrictInt = 24 * 3600
    """Job time limit, ``1..777600`` seconds (botocore ``ProcessingMaxRuntimeInSeconds``). Default ``86400``
    (1 day)."""

    framework_version: str = "1.2-1"
    """Version of SageMaker's scikit-learn image the script runs in (it brings Python 3, pandas and numpy);
    one the installed SageMaker SDK knows, e.g. ``1.2-1``. Default ``1.2-1``."""

    processing_entry_point: str = ""
    """The script run by the job, relative to ``source_dir``; a ``.py`` file. Default: the shipped script
    (``SHIPPED_ENTRY_POINT`` of the config class), which is also the only allowed value while ``source_dir``
    is ``None``."""

    source_dir: str | None = None
    """Where the script is. Default ``None``: the script shipped with constructs_lib. Otherwise a local
    directory (packed into a deterministic ``sourcedir.tar.gz`` and shipped as a CDK asset) or an
    ``s3://…/sourcedir.tar.gz`` used as is."""

    env: dict[str, str] = Field(default_factory=dict)
    """Environment variables of the job (botocore ``ProcessingEnvironmentMap``: at most 100, names
    ``[a-zA-Z_][a-zA-Z0-9_]*`` up to 256 characters, values up to 256 characters). Default ``{}``."""

    output_path: str | None = None
    """S3 prefix of the job's outputs: each goes to ``<output_path>/<execution id>/<output name>``, so runs
    never overwrite each other. Default ``None``: ``<artifact root>/<pipeline>/<node>``, in the construct's
    artifact bucket."""

    processing_instance_type_choices: tuple[str, ...] = ()
    """Instance types an execution may pick without a redeploy: with choices the instance type is the
    pipeline parameter ``<node>InstanceType`` (default ``processing_instance_type``, which must be a choice;
    SageMaker refuses any other value when the execution starts). Each is checked at synth like
    ``processing_instance_type`` (a CPU processing type). Default ``()``: a fixed instance type."""

    processing_instance_count_choices: tuple[StrictInt, ...] = ()
    """Instance counts an execution may pick: with choices the count is the pipeline parameter
    ``<node>InstanceCount`` (default ``processing_instance_count``, which must be a choice), each ``1..100``;
    SageMaker has no allowed values for an integer parameter, so a count outside them is not refused at
    start. Default ``()``: a fixed count."""

    region: str | None = None
    """AWS region for image URIs. Default ``None``: the pipeline's (stack's) region."""

    @model_validator(mode="before")
    @classmethod
    def _default_entry_point(cls, data: object) -> object:
        if isinstance(data, dict) and not data.get("processing_entry_point"):
            return {**data, "processing_entry_point": cls.SHIPPED_ENTRY_POINT}
        return data

    @field_validator("processing_instance_type")
    @classmethod
    def _instance_type(cls, v: str) -> str:
        check_instance_type(
            v,
            field="processing_instance_type",
            allowed=limits.processing_instance_types(),
            kind="processing",
        )
        if not _cpu_family(v):
            raise ConfigError(
                "SageMaker's scikit-learn image runs on CPU instances only",
                field="processing_instance_type",
                value=v,
                hint="use a CPU type such as ml.m5.xlarge or ml.c5.2xlarge",
            )
        return v

    @field_validator("processing_instance_count")
    @classmethod
    def _count(cls, v: int) -> int:
        shape = limits.shape("ProcessingInstanceCount")
        return check_range(v, field="processing_instance_count", low=shape.min or 1, high=shape.max or 100)

    @field_validator("processing_volume_size")
    @classmethod
    def _volume(cls, v: int) -> int:
        shape = limits.shape("ProcessingVolumeSizeInGB")
        high = shape.max or limits.max_volume_size_gb()
        return check_range(
            v,
            field="processing_volume_size",
            low=shape.min or 1,
            high=high,
            unit="GB",
            what="volume size out of range",
        )

    @field_validator("max_runtime_seconds")
    @classmethod
    def _runtime(cls, v: int) -> int:
        shape = limits.shape("ProcessingMaxRuntimeInSeconds")
        return check_range(
            v, field="max_runtime_seconds", low=shape.min or 1, high=shape.max or 777_600, unit="seconds"
        )

    @field_validator("framework_version")
    @classmethod
    def _framework(cls, v: str) -> str:
        versions = _sklearn_versions()
        if v not in versions:
            raise ConfigError(
                "the installed SageMaker SDK has no scikit-learn image for this version",
                field="framework_version",
                value=v,
                hint=f"supported versions: {', '.join(sorted(versions))}",
            )
        return v

    @field_validator("processing_entry_point")
    @classmethod
    def _entry_point(cls, v: str) -> str:
        return check_entry_point(v, field="processing_entry_point")

    @field_validator("source_dir")
    @classmethod
    def _source_dir(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not v.strip():
            raise ConfigError(
                "must not be empty",
                field="source_dir",
                value=v,
                hint="None for the shipped script, a local directory, or s3://…/sourcedir.tar.gz",
            )
        return check_source_location(v)

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        check_env(
            v,
            field="env",
            map_shape="ProcessingEnvironmentMap",
            key_shape="ProcessingEnvironmentKey",
            value_shape="ProcessingEnvironmentValue",
        )
        return dict(sorted(v.items()))

    @field_validator("output_path")
    @classmethod
    def _output_path(cls, v: str | None) -> str | None:
        return None if v is None else check_s3_uri(v, field="output_path").rstrip("/")

    @field_validator("region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        return check_region(v)

    @model_validator(mode="after")
    def _choices(self) -> Self:
        check_type_choices(
            self.processing_instance_type_choices,
            default=self.processing_instance_type,
            field="processing_instance_type_choices",
            default_field="processing_instance_type",
            allowed=limits.processing_instance_types(),
            kind="processing",
        )
        for i, choice in enumerate(self.processing_instance_type_choices):
            if not _cpu_family(choice):
                raise ConfigError(
                    "SageMaker's scikit-learn image runs on CPU instances only",
                    field=f"processing_instance_type_choices[{i}]",
                    value=choice,
                    hint="use CPU types such as ml.m5.xlarge or ml.c5.2xlarge",
                )
        shape = limits.shape("ProcessingInstanceCount")
        check_count_choices(
            self.processing_instance_count_choices,
            default=self.processing_instance_count,
            field="processing_instance_count_choices",
            default_field="processing_instance_count",
            high=shape.max or 100,
        )
        return self

    @property
    def instance_types(self) -> tuple[str, ...]:
        """Every instance type the job may run on (the choices, or the one type)."""
        return self.processing_instance_type_choices or (self.processing_instance_type,)

    @model_validator(mode="after")
    def _shipped_entry_point(self) -> Self:
        if self.source_dir is None and self.processing_entry_point != self.SHIPPED_ENTRY_POINT:
            raise ConfigError(
                "with the shipped script (source_dir=None) the entry point is fixed",
                field="processing_entry_point",
                value=self.processing_entry_point,
                hint=f"leave it at {self.SHIPPED_ENTRY_POINT!r}, or set source_dir to your own script's directory",
            )
        return self

    # ------------------------------------------------------------------ derived
    @property
    def uses_shipped_source(self) -> bool:
        """True when the job runs the script shipped with constructs_lib."""
        return self.source_dir is None

    @property
    def is_local_source(self) -> bool:
        """True when the code is a local directory (the shipped one included): packed and shipped as an asset."""
        return self.source_dir is None or not self.source_dir.startswith("s3://")

    @property
    def local_source_dir(self) -> Path | None:
        """The local directory packed for the job (``None`` for an ``s3://`` tarball)."""
        if self.source_dir is None:
            return SCRIPTS_DIR / self.SHIPPED_SOURCE
        return None if self.source_dir.startswith("s3://") else Path(self.source_dir)
