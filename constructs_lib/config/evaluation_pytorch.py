"""``PyTorchEvaluationConfig``: score the trained model on the held-out split, through the inference code
it carries, and publish a model-quality report."""

from __future__ import annotations

import math
from typing import ClassVar, Self

from pydantic import StrictFloat, StrictInt, ValidationInfo, field_validator, model_validator

from constructs_lib import limits
from constructs_lib.config.base import check_entry_point, check_instance_type, check_present, check_s3_uri
from constructs_lib.config.model_pytorch import check_version_pair
from constructs_lib.config.processing import ProcessingJobConfig, _cpu_family, check_processing_arguments
from constructs_lib.errors import ConfigError

__all__ = ["PyTorchEvaluationConfig"]


class PyTorchEvaluationConfig(ProcessingJobConfig):
    """Configuration of the evaluation step: a SageMaker Processing job in SageMaker's PyTorch image (CPU
    build) running the shipped ``evaluate.py``.

    The script extracts the training step's ``model.tar.gz``, imports the handler it carries in ``code/``
    and scores ``<test_data>/<test_split>/`` through it (``model_fn``, then ``predict_fn`` on the split's
    DataFrame), so the evaluation also proves that the shipped inference code works. It writes
    ``evaluation.json`` in SageMaker Model Monitor's model-quality format
    (``binary_classification_metrics``: ``accuracy``, ``precision``, ``recall``, ``f1``, ``auc``, ``loss``,
    each ``{"value": ..., "standard_deviation": ...}``, and the ``confusion_matrix``), registered as the
    step's property file ``EvaluationReport`` for a quality gate and attachable to a model package as its
    model statistics.
    """

    SHIPPED_SOURCE: ClassVar[str] = "pytorch_evaluation"
    SHIPPED_ENTRY_POINT: ClassVar[str] = "evaluate.py"

    framework_version: str | None = None  # type: ignore[assignment]
    """PyTorch version of SageMaker's PyTorch image the script runs in (CPU build; it brings torch,
    numpy and pandas), e.g. ``1.13.1``. Default ``None``: the version of the training step that feeds
    ``model_data`` (an error when none does). Set it together with ``py_version``."""

    py_version: str | None = None
    """Python version of that image, e.g. ``py39``. Default ``None``: the training step's."""

    max_runtime_seconds: StrictInt = 3600
    """Job time limit, ``1..777600`` seconds (botocore ``ProcessingMaxRuntimeInSeconds``). Default ``3600``
    (1 hour: scoring a held-out split through the handler takes minutes)."""

    label_name: str | None = None
    """The label column of the split (values 0 and 1). Default ``None``: the ``label_name``
    hyperparameter of the training step that feeds ``model_data`` (an error when there is none)."""

    inference_entry_point: str = "inference.py"
    """The handler in ``model.tar.gz``'s ``code/`` the script imports; it must be what the training step
    packs (checked when the pipeline is built). Default ``inference.py``."""

    decision_threshold: StrictFloat = 0.5
    """Probability at or above which a row is predicted as label 1 (accuracy, precision, recall, F1 and
    the confusion matrix), in ``(0, 1)``. Default ``0.5``."""

    test_split: str = "test"
    """The sub-directory of ``test_data`` holding the held-out rows (``.csv``, ``.csv.gz`` or ``.parquet``
    files with a header row). Default ``test`` (what the preprocessing step writes)."""

    model_data: str | None = None
    """S3 URI of a ``model.tar.gz`` (with its handler in ``code/``). Used only when no predecessor step
    provides ``model_data``. Default ``None``: a pipeline parameter ``<node>ModelData`` whose default is
    ``<artifact root>/<pipeline>/<node>/input/model.tar.gz``."""

    test_data_path: str | None = None
    """S3 URI of the directory holding ``<test_split>/``. Used only when no predecessor step provides
    ``test_data``. Default ``None``: a pipeline parameter ``<node>TestData`` whose default is
    ``<artifact root>/<pipeline>/<node>/input/``."""

    @field_validator("processing_instance_type")
    @classmethod
    def _instance_type(cls, v: str) -> str:
        check_instance_type(
            v, field="processing_instance_type", allowed=limits.processing_instance_types(), kind="processing"
        )
        if not _cpu_family(v):
            raise ConfigError(
                "the evaluation runs on a CPU instance (SageMaker's PyTorch CPU image)",
                field="processing_instance_type",
                value=v,
                hint="use a CPU type such as ml.m5.xlarge or ml.c5.2xlarge",
            )
        return v

    @field_validator("framework_version")
    @classmethod
    def _framework(cls, v: str | None) -> str | None:  # type: ignore[override]
        return v

    @field_validator("framework_version", "py_version", mode="after")
    @classmethod
    def _present(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return v
        return check_present(v, field=info.field_name or "value", hint="e.g. framework 2.3.0 with py311")

    @field_validator("label_name")
    @classmethod
    def _label(cls, v: str | None) -> str | None:
        if v is not None and (not v.strip() or len(v) > (limits.shape("ContainerArgument").max or 256)):
            raise ConfigError(
                "must be a column name of at most 256 characters",
                field="label_name",
                value=v,
                hint="the label column, or None for the training step's label_name",
            )
        return v

    @field_validator("inference_entry_point")
    @classmethod
    def _handler(cls, v: str) -> str:
        return check_entry_point(v, field="inference_entry_point", example="inference.py")

    @field_validator("decision_threshold")
    @classmethod
    def _threshold(cls, v: float) -> float:
        if not math.isfinite(v) or not 0.0 < v < 1.0:
            raise ConfigError(
                "must be strictly between 0 and 1", field="decision_threshold", value=v, hint="e.g. 0.5"
            )
        return v

    @field_validator("test_split")
    @classmethod
    def _split(cls, v: str) -> str:
        if not v or "/" in v or "\\" in v or v in (".", "..") or not v.isprintable():
            raise ConfigError("must be a directory name", field="test_split", value=v, hint="e.g. 'test'")
        return v

    @field_validator("model_data")
    @classmethod
    def _model_data(cls, v: str | None) -> str | None:
        return None if v is None else check_s3_uri(v, field="model_data", require_suffix=".tar.gz")

    @field_validator("test_data_path")
    @classmethod
    def _test_data(cls, v: str | None) -> str | None:
        return None if v is None else check_s3_uri(v, field="test_data_path")

    @model_validator(mode="after")
    def _versions(self) -> Self:
        check_version_pair(self.framework_version, self.py_version, scope="training")
        return self

    def script_arguments(self) -> list[str]:
        """The command line the step passes to the script (explicit, so the definition shows every value);
        needs ``label_name`` (the builder fills it from the training step)."""
        if self.label_name is None:
            raise ConfigError(
                "no label column",
                field="label_name",
                hint="set label_name, or feed model_data from a training step",
            )
        args = [
            "--label-name",
            self.label_name,
            "--inference-entry-point",
            self.inference_entry_point,
            "--decision-threshold",
            repr(self.decision_threshold),
            "--test-split",
            self.test_split,
        ]
        return check_processing_arguments(args, field="label_name")
