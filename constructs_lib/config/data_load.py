"""``DataLoadConfig``: the public stand-in for the seed's internal Cradle data-loading step.

A SageMaker Processing job reads a raw table from an S3 location given as a pipeline parameter (so each
execution can point at other data), validates it (readable CSV/Parquet, not empty, required columns
present) and publishes it as the step's ``raw_data`` output.
"""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import StrictInt, field_validator, model_validator

from constructs_lib import limits
from constructs_lib.config.base import check_s3_uri
from constructs_lib.config.processing import ProcessingJobConfig, check_processing_arguments
from constructs_lib.errors import ConfigError

__all__ = ["DataLoadConfig"]


class DataLoadConfig(ProcessingJobConfig):
    """Configuration of the data-load step (shipped script ``load.py``)."""

    SHIPPED_SOURCE: ClassVar[str] = "data_load"
    SHIPPED_ENTRY_POINT: ClassVar[str] = "load.py"

    raw_data_s3_uri: str | None = None
    """Default value of the pipeline parameter that holds the raw table's S3 URI (a prefix or one object).
    Default ``None``: ``<artifact root>/<pipeline>/raw/``."""

    parameter_name: str = "RawDataS3Uri"
    """Name of that pipeline parameter (botocore ``PipelineParameterName``: 1-256 characters of
    ``A-Za-z0-9-_``); set it per step when a pipeline loads from two sources. Default ``RawDataS3Uri``."""

    required_columns: tuple[str, ...] = ()
    """Columns the table must have; the job fails, naming the missing ones, otherwise. Each is passed to the
    script as ``--required-column <name>``, so at most 48 names of at most 256 characters (botocore
    ``ContainerArguments``/``ContainerArgument``). Default ``()``: any columns."""

    min_rows: StrictInt = 1
    """Fewest data rows the table may have, ``>= 1``. Default ``1`` (the table must not be empty)."""

    @field_validator("raw_data_s3_uri")
    @classmethod
    def _uri(cls, v: str | None) -> str | None:
        return None if v is None else check_s3_uri(v, field="raw_data_s3_uri")

    @field_validator("parameter_name")
    @classmethod
    def _parameter_name(cls, v: str) -> str:
        shape = limits.shape("PipelineParameterName")
        if not v or len(v) > (shape.max or 256) or not shape.fullmatch(v):
            raise ConfigError(
                "invalid pipeline parameter name",
                field="parameter_name",
                value=v,
                hint=f"1-{shape.max} characters matching {shape.pattern}",
            )
        return v

    @field_validator("required_columns")
    @classmethod
    def _columns(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for name in v:
            if not name.strip():
                raise ConfigError("column names must not be blank", field="required_columns", value=name)
        dupes = sorted({n for n in v if v.count(n) > 1})
        if dupes:
            raise ConfigError("duplicate column names", field="required_columns", value=dupes)
        return v

    @field_validator("min_rows")
    @classmethod
    def _min_rows(cls, v: int) -> int:
        if v < 1:
            raise ConfigError("must be >= 1", field="min_rows", value=v, hint="the table must not be empty")
        return v

    @model_validator(mode="after")
    def _arguments_fit(self) -> Self:
        check_processing_arguments(self.script_arguments(), field="required_columns")
        return self

    def script_arguments(self) -> list[str]:
        """The command line the step passes to the script."""
        args = ["--min-rows", str(self.min_rows)]
        for name in self.required_columns:
            args += ["--required-column", name]
        return args
