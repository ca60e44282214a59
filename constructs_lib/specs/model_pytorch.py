"""Specification of the PyTorch model step (a SageMaker model created from the training artifacts)."""

from __future__ import annotations

import functools

from constructs_lib.specs.base import (
    DependencySpec,
    DependencyType,
    NodeType,
    OutputSpec,
    SageMakerStepKind,
    StepSpecification,
)

__all__ = ["pytorch_model_spec"]


@functools.lru_cache(maxsize=1)
def pytorch_model_spec() -> StepSpecification:
    """``model_data`` (a ``model.tar.gz``) in; ``model_name`` out.

    An internal node: its ``model_name`` can feed a later step (batch transform, endpoint), though in the
    seed's DAG it is the last step.
    """
    return StepSpecification(
        step_type="PyTorchModelStep",
        node_type=NodeType.INTERNAL,
        sagemaker_step_kind=SageMakerStepKind.MODEL,
        dependencies=(
            DependencySpec(
                logical_name="model_data",
                dependency_type=DependencyType.MODEL_ARTIFACTS,
                required=True,
                compatible_sources=("PyTorchTrainingStep",),
                semantic_keywords=("model", "artifacts", "data"),
                data_type="S3Uri",
                description="S3 URI of the model.tar.gz written by the training job.",
            ),
        ),
        outputs=(
            OutputSpec(
                logical_name="model_name",
                output_type=DependencyType.MODEL,
                property_path="properties.ModelName",
                data_type="String",
                description="Name of the SageMaker model that CreateModel made.",
            ),
        ),
    )
