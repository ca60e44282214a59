"""Specification of the PyTorch training step."""

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

__all__ = ["pytorch_training_spec"]


@functools.lru_cache(maxsize=1)
def pytorch_training_spec() -> StepSpecification:
    """``input_path`` (train/val/test directory) in; ``model_artifacts`` and ``output_path`` out."""
    return StepSpecification(
        step_type="PyTorchTrainingStep",
        node_type=NodeType.INTERNAL,
        sagemaker_step_kind=SageMakerStepKind.TRAINING,
        dependencies=(
            DependencySpec(
                logical_name="input_path",
                dependency_type=DependencyType.PROCESSED_DATA,
                required=True,
                compatible_sources=("TabularPreprocessingStep", "DataLoadStep"),
                semantic_keywords=("processed", "data", "train", "split", "input", "dataset"),
                data_type="S3Uri",
                description="Directory with train/, val/ and test/ subdirectories; the 'data' channel.",
            ),
        ),
        outputs=(
            OutputSpec(
                logical_name="model_artifacts",
                output_type=DependencyType.MODEL_ARTIFACTS,
                property_path="properties.ModelArtifacts.S3ModelArtifacts",
                aliases=("model_output", "model_data", "model_artifacts_path", "model_input"),
                data_type="S3Uri",
                description="S3 URI of model.tar.gz written from /opt/ml/model.",
            ),
            OutputSpec(
                logical_name="output_path",
                output_type=DependencyType.JOB_OUTPUT,
                property_path="properties.OutputDataConfig.S3OutputPath",
                aliases=("training_output", "output_data"),
                data_type="S3Uri",
                description="The job's S3 output location (output.tar.gz with /opt/ml/output/data).",
            ),
        ),
    )
