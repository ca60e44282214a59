"""The model registration step's ports (the model and its report in; a model package version out) and
specification."""

from __future__ import annotations

from constructs_lib.ports import InputPort, OutputPort, StepPorts
from constructs_lib.specs.base import DependencyType, NodeType, SageMakerStepKind, StepSpecification
from constructs_lib.specs.serving import model_data_port

__all__ = ["MODEL_REGISTRATION_PORTS", "model_registration_spec"]

MODEL_REGISTRATION_PORTS = StepPorts(
    step_type="ModelRegistrationStep",
    node_type=NodeType.INTERNAL,
    sagemaker_step_kind=SageMakerStepKind.REGISTER_MODEL,
    entry_point="inference.py",
    inputs=(
        model_data_port("S3 URI of the model.tar.gz written by the training job (its handler in code/)."),
        InputPort(
            name="evaluation",
            container_path="",  # no container: the report's S3 URI goes into ModelMetrics
            channel="ModelMetrics",
            kind=DependencyType.EVALUATION_REPORT,
            required=False,
            compatible_sources=("PyTorchEvaluationStep",),
            semantic_keywords=("evaluation", "report", "metrics"),
            description="The evaluation report, attached as the version's model statistics.",
        ),
    ),
    outputs=(
        OutputPort(
            name="model_package_arn",
            kind=DependencyType.MODEL_PACKAGE,
            property_path="properties.ModelPackageArn",
            data_type="String",
            description="ARN of the model package version CreateModelPackage made.",
        ),
    ),
    config_paths={"code": "/opt/ml/model/code"},
    description=(
        "Registers the training step's model.tar.gz (its handler in code/, the PyTorch inference image) as "
        "a version of a model package group, with the evaluation report as its model statistics and the "
        "approval status from a pipeline parameter."
    ),
)


def model_registration_spec() -> StepSpecification:
    """``model_data`` (and optionally ``evaluation``) in; ``model_package_arn`` out."""
    return MODEL_REGISTRATION_PORTS.specification()
