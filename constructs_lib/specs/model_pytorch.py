"""The PyTorch model step's ports (a SageMaker model created from the training artifacts) and specification."""

from __future__ import annotations

from constructs_lib.ports import OutputPort, StepPorts
from constructs_lib.specs.base import DependencyType, NodeType, SageMakerStepKind, StepSpecification
from constructs_lib.specs.serving import model_data_port

__all__ = ["PYTORCH_MODEL_PORTS", "pytorch_model_spec"]

#: An internal node: its ``model_name`` can feed a later step (batch transform, endpoint), though in the
#: seed's DAG it is the last step.
PYTORCH_MODEL_PORTS = StepPorts(
    step_type="PyTorchModelStep",
    node_type=NodeType.INTERNAL,
    sagemaker_step_kind=SageMakerStepKind.MODEL,
    entry_point="inference.py",
    inputs=(model_data_port("S3 URI of the model.tar.gz written by the training job."),),
    outputs=(
        OutputPort(
            name="model_name",
            kind=DependencyType.MODEL,
            property_path="properties.ModelName",
            data_type="String",
            description="Name of the SageMaker model that CreateModel made.",
        ),
    ),
    config_paths={"code": "/opt/ml/model/code"},
    description=(
        "model_fn loads model.pt + model_meta.json (the reference train.py's format, via its load_model); "
        "input_fn reads text/csv (header row) or application/json records; predict_fn returns the "
        "probability of label 1 per row; output_fn writes application/json or text/csv."
    ),
)


def pytorch_model_spec() -> StepSpecification:
    """``model_data`` (a ``model.tar.gz``) in; ``model_name`` out."""
    return PYTORCH_MODEL_PORTS.specification()
