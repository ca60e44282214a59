"""The PyTorch training step's ports (its one declaration) and specification."""

from __future__ import annotations

from constructs_lib.codeartifact import CA_REPOSITORY_ARN_ENV
from constructs_lib.ports import InputPort, OutputPort, StepPorts
from constructs_lib.specs.base import DependencyType, NodeType, SageMakerStepKind, StepSpecification

__all__ = ["PYTORCH_TRAINING_PORTS", "pytorch_training_spec"]

PYTORCH_TRAINING_PORTS = StepPorts(
    step_type="PyTorchTrainingStep",
    node_type=NodeType.INTERNAL,
    sagemaker_step_kind=SageMakerStepKind.TRAINING,
    entry_point="train.py",
    inputs=(
        InputPort(
            name="input_path",
            # the single "data" channel; the script reads train/, val/ and test/ below it
            container_path="/opt/ml/input/data/data",
            channel="data",
            kind=DependencyType.PROCESSED_DATA,
            required=True,
            compatible_sources=("TabularPreprocessingStep", "DataLoadStep"),
            semantic_keywords=("processed", "data", "train", "split", "input", "dataset"),
            env_var="SM_CHANNEL_DATA",
            description="Directory with train/, val/ and test/ subdirectories; the 'data' channel.",
        ),
    ),
    outputs=(
        OutputPort(
            name="model_artifacts",
            kind=DependencyType.MODEL_ARTIFACTS,
            property_path="properties.ModelArtifacts.S3ModelArtifacts",
            container_path="/opt/ml/model",
            aliases=("model_output", "model_data", "model_artifacts_path", "model_input"),
            env_var="SM_MODEL_DIR",
            description="S3 URI of model.tar.gz written from /opt/ml/model.",
        ),
        OutputPort(
            name="output_path",
            kind=DependencyType.JOB_OUTPUT,
            property_path="properties.OutputDataConfig.S3OutputPath",
            container_path="/opt/ml/output/data",
            aliases=("training_output", "output_data"),
            env_var="SM_OUTPUT_DATA_DIR",
            description="The job's S3 output location (output.tar.gz with /opt/ml/output/data).",
        ),
    ),
    config_paths={
        "hyperparameters": "/opt/ml/input/config/hyperparameters.json",
        "input_data_config": "/opt/ml/input/config/inputdataconfig.json",
        "resource_config": "/opt/ml/input/config/resourceconfig.json",
    },
    required_env_vars=(),
    optional_env_vars={CA_REPOSITORY_ARN_ENV: ""},
    description=(
        "Trains a tabular binary classifier with PyTorch: reads train/val/test from the data channel, "
        "writes the model to SM_MODEL_DIR and test metrics to SM_OUTPUT_DATA_DIR, prints the four metrics "
        "per epoch."
    ),
)


def pytorch_training_spec() -> StepSpecification:
    """``input_path`` (train/val/test directory) in; ``model_artifacts`` and ``output_path`` out."""
    return PYTORCH_TRAINING_PORTS.specification()
