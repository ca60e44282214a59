"""``TabularPreprocessingConfig``: split a raw table into ``train/``, ``val/`` and ``test/``."""

from __future__ import annotations

import math
from typing import ClassVar, Self

from pydantic import StrictFloat, StrictInt, field_validator, model_validator

from constructs_lib import limits
from constructs_lib.config.base import check_s3_uri
from constructs_lib.config.processing import ProcessingJobConfig
from constructs_lib.errors import ConfigError

__all__ = ["TabularPreprocessingConfig"]


class TabularPreprocessingConfig(ProcessingJobConfig):
    """Configuration of the tabular preprocessing step: a deterministic train/val/test split.

    The shipped script ``preprocess.py`` reads every ``.csv``, ``.csv.gz`` and ``.parquet`` file of its
    ``raw_data`` input, splits the rows by ``train_ratio``/``val_ratio``/``test_ratio`` with ``random_seed``
    (per label value when ``label_name`` is set) and writes ``train/``, ``val/`` and ``test/`` (one
    ``part-0.csv`` each), the layout the PyTorch training step's ``data`` channel expects.
    """

    SHIPPED_SOURCE: ClassVar[str] = "tabular_preprocessing"
    SHIPPED_ENTRY_POINT: ClassVar[str] = "preprocess.py"

    train_ratio: StrictFloat = 0.7
    """Share of rows in ``train/``, in ``(0, 1)``. Default ``0.7``. The three ratios must sum to 1."""

    val_ratio: StrictFloat = 0.15
    """Share of rows in ``val/``, in ``(0, 1)``. Default ``0.15``."""

    test_ratio: StrictFloat = 0.15
    """Share of rows in ``test/``, in ``(0, 1)``. Default ``0.15``."""

    random_seed: StrictInt = 42
    """Seed of the split, ``0..4294967295`` (numpy's legacy ``RandomState``, whose stream numpy keeps
    stable across versions): the same table and seed always give the same split. Default ``42``."""

    label_name: str | None = None
    """Column to stratify on: each label value is split by the ratios separately, so every split keeps the
    label balance. Default ``None``: no stratification."""

    raw_data_path: str | None = None
    """S3 URI of the raw table (a prefix or one object). Used only when no predecessor step provides
    ``raw_data``. Default ``None``: a pipeline parameter ``<node>RawData`` whose default is
    ``<artifact root>/<pipeline>/<node>/input/``."""

    @field_validator("train_ratio", "val_ratio", "test_ratio")
    @classmethod
    def _ratio(cls, v: float, info: object) -> float:
        name = getattr(info, "field_name", "ratio")
        if not math.isfinite(v) or not 0.0 < v < 1.0:
            raise ConfigError(
                "each split ratio must be strictly between 0 and 1",
                field=name,
                value=v,
                hint="e.g. train_ratio=0.7, val_ratio=0.15, test_ratio=0.15",
            )
        return v

    @field_validator("random_seed")
    @classmethod
    def _seed(cls, v: int) -> int:
        if not 0 <= v <= 2**32 - 1:
            raise ConfigError("out of range", field="random_seed", value=v, hint="0..4294967295")
        return v

    @field_validator("label_name")
    @classmethod
    def _label(cls, v: str | None) -> str | None:
        if v is not None and (not v.strip() or len(v) > (limits.shape("ContainerArgument").max or 256)):
            raise ConfigError(
                "must be a column name of at most 256 characters",
                field="label_name",
                value=v,
                hint="the name of the label column, or None for no stratification",
            )
        return v

    @field_validator("raw_data_path")
    @classmethod
    def _raw(cls, v: str | None) -> str | None:
        return None if v is None else check_s3_uri(v, field="raw_data_path")

    @model_validator(mode="after")
    def _ratios_sum(self) -> Self:
        total = self.train_ratio + self.val_ratio + self.test_ratio
        if not math.isclose(total, 1.0, rel_tol=0.0, abs_tol=1e-9):
            raise ConfigError(
                f"train_ratio + val_ratio + test_ratio must be 1, they sum to {total!r}",
                field="train_ratio",
                value=(self.train_ratio, self.val_ratio, self.test_ratio),
                hint="e.g. 0.7 / 0.15 / 0.15 or 0.8 / 0.1 / 0.1",
            )
        return self

    def script_arguments(self) -> list[str]:
        """The command line the step passes to the script (explicit, so the definition shows every value)."""
        args = [
            "--train-ratio",
            repr(self.train_ratio),
            "--val-ratio",
            repr(self.val_ratio),
            "--test-ratio",
            repr(self.test_ratio),
            "--seed",
            str(self.random_seed),
        ]
        if self.label_name is not None:
            args += ["--label-name", self.label_name]
        return args
