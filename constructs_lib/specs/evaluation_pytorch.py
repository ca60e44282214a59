"""The PyTorch evaluation step's ports (model + held-out split in, model-quality report out) and
specification."""

from __future__ import annotations

from constructs_lib.ports import (
    PROCESSING_BASE_ENV,
    PROCESSING_CODE_DIR,
    InputPort,
    OutputPort,
    PropertyFileSpec,
    StepPorts,
)
from constructs_lib.specs.base import DependencyType, NodeType, SageMakerStepKind, StepSpecification

__all__ = [
    "EVALUATION_METRICS",
    "EVALUATION_PROPERTY_FILE",
    "PYTORCH_EVALUATION_PORTS",
    "metric_path",
    "pytorch_evaluation_spec",
]

#: The metrics ``evaluate.py`` writes under ``binary_classification_metrics`` (each ``{"value": ...,
#: "standard_deviation": ...}``), in SageMaker Model Monitor's model-quality format.
EVALUATION_METRICS = ("accuracy", "auc", "f1", "loss", "precision", "recall")


def metric_path(metric: str) -> str:
    """The JSON path of a metric's value in the report: ``binary_classification_metrics.<metric>.value``."""
    return f"binary_classification_metrics.{metric}.value"


#: The report as the step's ``PropertyFile``: what a quality gate reads with ``JsonGet``.
EVALUATION_PROPERTY_FILE = PropertyFileSpec(
    name="EvaluationReport",
    path="evaluation.json",
    json_paths=tuple(metric_path(m) for m in EVALUATION_METRICS),
)

PYTORCH_EVALUATION_PORTS = StepPorts(
    step_type="PyTorchEvaluationStep",
    node_type=NodeType.INTERNAL,
    sagemaker_step_kind=SageMakerStepKind.PROCESSING,
    entry_point="evaluate.py",
    inputs=(
        InputPort(
            name="model_data",
            # the training job's model.tar.gz (an S3Prefix input naming that one object)
            container_path="/opt/ml/processing/input/model",
            channel="model",
            kind=DependencyType.MODEL_ARTIFACTS,
            required=True,
            compatible_sources=("PyTorchTrainingStep",),
            semantic_keywords=("model", "artifacts"),
            description="The model.tar.gz written by the training job, with its handler in code/.",
        ),
        InputPort(
            name="test_data",
            # the preprocessing step's train/ val/ test/ directory; the script reads test/
            container_path="/opt/ml/processing/input/data",
            channel="data",
            kind=DependencyType.PROCESSED_DATA,
            required=True,
            compatible_sources=("TabularPreprocessingStep",),
            semantic_keywords=("processed", "data", "test", "split"),
            description="Directory with the held-out split (test/ below it), as the preprocessing step writes it.",
        ),
    ),
    outputs=(
        OutputPort(
            name="evaluation",
            kind=DependencyType.EVALUATION_REPORT,
            property_path="properties.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri",
            container_path="/opt/ml/processing/output/evaluation",
            aliases=("evaluation_report",),
            description="S3 prefix holding evaluation.json (Model Monitor's model-quality format).",
            property_file=EVALUATION_PROPERTY_FILE,
        ),
    ),
    config_paths={"code": PROCESSING_CODE_DIR},
    optional_env_vars={PROCESSING_BASE_ENV: "/opt/ml/processing"},
    description=(
        "Extracts model.tar.gz, imports the handler it carries in code/ and scores the held-out split "
        "through it (model_fn, then predict_fn on the test DataFrame); writes accuracy, precision, recall, "
        "F1 (at the decision threshold), AUC ROC and binary cross-entropy loss as "
        "evaluation/evaluation.json in Model Monitor's binary_classification_metrics format."
    ),
)


def pytorch_evaluation_spec() -> StepSpecification:
    """``model_data`` and ``test_data`` in; ``evaluation`` (the report) out."""
    return PYTORCH_EVALUATION_PORTS.specification()
