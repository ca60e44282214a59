"""What the steps that serve the trained model share in their ports (the model step, the registration)."""

from __future__ import annotations

from constructs_lib.ports import InputPort
from constructs_lib.specs.base import DependencyType

__all__ = ["model_data_port"]


def model_data_port(description: str) -> InputPort:
    """The ``model_data`` input of a step that hosts the training step's ``model.tar.gz``: SageMaker (or a
    deployment of the version) extracts ``ModelDataUrl`` (``model.pt``, ``model_meta.json``, ``code/``) into
    ``/opt/ml/model``. ``description`` says what the step does with it."""
    return InputPort(
        name="model_data",
        container_path="/opt/ml/model",
        channel="ModelDataUrl",
        kind=DependencyType.MODEL_ARTIFACTS,
        required=True,
        compatible_sources=("PyTorchTrainingStep",),
        semantic_keywords=("model", "artifacts", "data"),
        description=description,
    )
