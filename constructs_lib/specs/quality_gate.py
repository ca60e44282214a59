"""The model quality gate's ports (a model-quality report in; no outputs: its DAG successors run only
when the gate passes) and specification."""

from __future__ import annotations

from constructs_lib.ports import InputPort, StepPorts
from constructs_lib.specs.base import DependencyType, NodeType, SageMakerStepKind, StepSpecification

__all__ = ["MODEL_QUALITY_GATE_PORTS", "model_quality_gate_spec"]

MODEL_QUALITY_GATE_PORTS = StepPorts(
    step_type="ModelQualityGateStep",
    node_type=NodeType.SINK,
    sagemaker_step_kind=SageMakerStepKind.CONDITION,
    entry_point="",
    inputs=(
        InputPort(
            name="evaluation",
            container_path="",  # a condition runs no container: SageMaker Pipelines reads the property file
            channel="PropertyFile",
            kind=DependencyType.EVALUATION_REPORT,
            required=True,
            compatible_sources=("PyTorchEvaluationStep",),
            semantic_keywords=("evaluation", "report", "metrics"),
            description="The evaluation step's report, read through its PropertyFile with JsonGet.",
        ),
    ),
    description=(
        "A SageMaker ConditionStep: compares one metric of the evaluation report with a threshold; its DAG "
        "successors run when it holds, else a FailStep stops the execution naming the metric, its value and "
        "the threshold."
    ),
)


def model_quality_gate_spec() -> StepSpecification:
    """``evaluation`` (a report with a property file) in; nothing out."""
    return MODEL_QUALITY_GATE_PORTS.specification()
