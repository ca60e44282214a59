"""``ModelQualityGateConfig``: the metric of the evaluation report a model must reach to go on."""

from __future__ import annotations

import math
import re
from typing import Literal

from pydantic import StrictFloat, StrictInt, field_validator, model_validator

from constructs_lib.config.base import StrictModel
from constructs_lib.errors import ConfigError

__all__ = ["ModelQualityGateConfig"]

_METRIC = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class ModelQualityGateConfig(StrictModel):
    """Configuration of the quality gate: a SageMaker ``ConditionStep`` on one metric of the evaluation
    step's report (its ``EvaluationReport`` property file, read with ``JsonGet``).

    When the metric reaches ``threshold`` the gate's DAG successors run (the template places them in the
    condition's if-branch); otherwise a ``FailStep`` ends the execution with a message naming the metric,
    its value and the threshold. ``ModelQualityGateConfig(min_auc_roc=0.75)`` is the seed-facing
    shorthand for ``metric="auc", threshold=0.75``.
    """

    metric: str = "auc"
    """The metric: a JSON path the evaluation step declares for its report
    (``binary_classification_metrics.auc.value``), or a name that appears in exactly one of them
    (``auc``, ``f1``, ``loss``...). Checked against the evaluation step's declared paths when the
    pipeline is built (an unknown metric is an error listing the allowed ones). Default ``auc``."""

    threshold: StrictFloat | StrictInt
    """Required. The value the metric must reach, a finite number (e.g. ``0.75``)."""

    direction: Literal["at_least", "at_most"] = "at_least"
    """``at_least``: the metric must be >= ``threshold`` (``ConditionGreaterThanOrEqualTo``; AUC, F1,
    accuracy...). ``at_most``: <= ``threshold`` (``ConditionLessThanOrEqualTo``; a loss). Default
    ``at_least``."""

    @model_validator(mode="before")
    @classmethod
    def _min_auc_roc(cls, data: object) -> object:
        if isinstance(data, dict) and "min_auc_roc" in data:
            if "metric" in data or "threshold" in data:
                raise ConfigError(
                    "min_auc_roc is shorthand for metric='auc', threshold=...; give one or the other",
                    field="min_auc_roc",
                    value=data["min_auc_roc"],
                )
            rest = {k: v for k, v in data.items() if k != "min_auc_roc"}
            return {**rest, "metric": "auc", "threshold": data["min_auc_roc"]}
        return data

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        if not isinstance(v, str) or not _METRIC.match(v):
            raise ConfigError(
                "must be a metric name or a dotted JSON path",
                field="metric",
                value=v,
                hint="e.g. 'auc' or 'binary_classification_metrics.auc.value'",
            )
        return v

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, v: float) -> float:
        if isinstance(v, bool) or not math.isfinite(v):
            raise ConfigError("must be a finite number", field="threshold", value=v, hint="e.g. 0.75")
        return float(v)
