"""``ModelQualityGateStepBuilder``: a SageMaker ``ConditionStep`` on one metric of the evaluation report.

``ConditionGreaterThanOrEqualTo(JsonGet(<evaluation step>, EvaluationReport, <metric path>), threshold)``
(``LessThanOrEqualTo`` for ``direction="at_most"``); its else-branch is a ``FailStep`` (``<node>-Fail``)
whose message names the metric, its value (a ``Join`` with the ``JsonGet``) and the threshold. The gate's
DAG successors go into its if-branch: the template builds them as usual and hands them to
:meth:`ModelQualityGateStepBuilder.with_branch` (``GATES_SUCCESSORS``), so they are no top-level steps and
carry no ``DependsOn`` on the gate. SageMaker Pipelines reads the property file as the pipeline role
(``AccessNeeds.pipeline_reads``: the evaluation step's output prefix).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from constructs_lib.access import AccessNeeds
from constructs_lib.builders.base import (
    BuiltStep,
    InputValue,
    StepBuilderBase,
    StepResult,
    Upstream,
    attach_facts,
    facts_of,
)
from constructs_lib.config.base import StrictModel
from constructs_lib.config.quality_gate import ModelQualityGateConfig
from constructs_lib.errors import ConfigError
from constructs_lib.specs.base import attach_spec
from constructs_lib.specs.quality_gate import MODEL_QUALITY_GATE_PORTS

if TYPE_CHECKING:  # pragma: no cover
    from sagemaker.workflow.steps import Step

__all__ = ["FAIL_STEP_SUFFIX", "ModelQualityGateStepBuilder"]

#: Suffix of the gate's FailStep (its else-branch).
FAIL_STEP_SUFFIX = "-Fail"


@dataclass(frozen=True)
class _Report:
    """The report the gate reads: the producing step, its property file, the metric's JSON path."""

    step: str
    property_file: str
    json_path: str
    location: str | None


def resolve_metric(metric: str, paths: Sequence[str], *, step: str, producer: str) -> str:
    """The declared JSON path ``metric`` names (itself, or the one path having it as a segment)."""
    if metric in paths:
        return metric
    matches = [p for p in paths if metric in p.split(".")]
    if len(matches) == 1:
        return matches[0]
    short = sorted(
        {seg for p in paths for seg in p.split(".")} - {"value"} - {p.split(".")[0] for p in paths}
    )
    raise ConfigError(
        f"step {producer!r} declares no single report value for this metric"
        + (f" (it matches {', '.join(matches)})" if matches else ""),
        step=step,
        field="metric",
        value=metric,
        hint=f"use one of {', '.join(short)} or a JSON path of {', '.join(paths)}",
    )


class ModelQualityGateStepBuilder(StepBuilderBase):
    """Builds the quality gate: ``evaluation`` in, nothing out; gates its DAG successors."""

    STEP_TYPE = "ModelQualityGateStep"
    CONFIG_CLASS = ModelQualityGateConfig
    DEFAULT_STEP_NAME = "ModelQualityGate"
    PORTS = MODEL_QUALITY_GATE_PORTS
    GATES_SUCCESSORS = True

    config: ModelQualityGateConfig

    def __init__(self, config: StrictModel, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        if len(self.step_name) + len(FAIL_STEP_SUFFIX) > 64:
            raise ConfigError(
                f"the gate's fail step is named '<name>{FAIL_STEP_SUFFIX}', which must fit SageMaker's "
                "64-character step names",
                step=self.step_name,
                field="step_name",
                value=self.step_name,
                hint=f"use a node name of at most {64 - len(FAIL_STEP_SUFFIX)} characters",
            )
        self._report: _Report | None = None

    @classmethod
    def example_config(cls) -> ModelQualityGateConfig:
        """A valid sample config (AUC ROC at least 0.7)."""
        return ModelQualityGateConfig(min_auc_roc=0.7)  # type: ignore[call-arg]

    def for_inputs(self, upstream: Mapping[str, Upstream]) -> ModelQualityGateStepBuilder:
        """Bind the gate to the evaluation step feeding it: its property file and the metric's path
        (checked against the paths it declares)."""
        source = upstream.get("evaluation")
        if source is None:
            raise ConfigError(
                "a quality gate reads the report through the evaluation step's property file, so that step "
                "must be its predecessor",
                step=self.step_name,
                field="inputs.evaluation",
                hint="add the DAG edge <evaluation step> -> <gate> (or pass the step in dependencies=[...]) "
                "instead of an explicit input",
            )
        name = source.facts.get("property_file")
        paths = source.facts.get("json_paths")
        if not isinstance(name, str) or not isinstance(paths, tuple) or not paths:
            raise ConfigError(
                f"step {source.producer!r} ({source.producer_type}) declares no property file for its output "
                f"{source.output!r}",
                step=self.step_name,
                field="inputs.evaluation",
                value=source.producer,
                hint="feed the gate from a PyTorchEvaluationStep",
            )
        path = resolve_metric(self.config.metric, paths, step=self.step_name, producer=source.producer)
        location = source.facts.get("location")
        bound = copy.copy(self)
        bound._report = _Report(source.producer, name, path, location if isinstance(location, str) else None)
        return bound

    def _build(self, inputs: Mapping[str, InputValue], depends_on: Sequence[Step]) -> BuiltStep:
        from sagemaker.workflow.condition_step import ConditionStep
        from sagemaker.workflow.conditions import ConditionGreaterThanOrEqualTo, ConditionLessThanOrEqualTo
        from sagemaker.workflow.fail_step import FailStep
        from sagemaker.workflow.functions import Join, JsonGet

        report = self._report
        if report is None:  # pragma: no cover - build() always calls for_inputs first
            raise ConfigError(
                "the gate has no evaluation step", step=self.step_name, field="inputs.evaluation"
            )
        value = JsonGet(step_name=report.step, property_file=report.property_file, json_path=report.json_path)
        threshold = self.config.threshold
        at_least = self.config.direction == "at_least"
        condition_cls = ConditionGreaterThanOrEqualTo if at_least else ConditionLessThanOrEqualTo
        fail = FailStep(
            name=f"{self.step_name}{FAIL_STEP_SUFFIX}",
            error_message=Join(
                on="",
                values=[
                    f"model quality gate {self.step_name}: {self.config.metric} (",
                    report.json_path,
                    f" in {report.step}'s {report.property_file}) is ",
                    value,
                    f", {'below' if at_least else 'above'} the threshold {threshold!r}",
                ],
            ),
        )
        step = ConditionStep(
            name=self.step_name,
            depends_on=[s.name for s in depends_on] or None,
            conditions=[condition_cls(left=value, right=threshold)],
            if_steps=[],
            else_steps=[fail],
        )
        # SageMaker Pipelines reads the property file (as the pipeline role) to evaluate JsonGet
        access = AccessNeeds(pipeline_reads=(report.location,) if report.location else ())
        return BuiltStep(step=step, access=access)

    def with_branch(self, result: StepResult, steps: Sequence[Step]) -> StepResult:
        """``result`` whose ConditionStep runs ``steps`` when the metric reaches the threshold."""
        from sagemaker.workflow.condition_step import ConditionStep

        old = result.step
        if not isinstance(old, ConditionStep):  # pragma: no cover - _build always makes one
            raise ConfigError("not a condition step", step=self.step_name)
        new = ConditionStep(
            name=old.name,
            depends_on=old.depends_on,
            display_name=old.display_name,
            description=old.description,
            conditions=old.conditions,
            if_steps=list(steps),
            else_steps=old.else_steps,
        )
        attach_spec(new, self.specification())
        attach_facts(new, facts_of(old))
        return dataclasses.replace(result, step=new)
