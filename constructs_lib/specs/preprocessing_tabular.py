"""The tabular preprocessing step's ports (raw table in, train/val/test directory out) and specification."""

from __future__ import annotations

from constructs_lib.ports import PROCESSING_BASE_ENV, PROCESSING_CODE_DIR, InputPort, OutputPort, StepPorts
from constructs_lib.specs.base import DependencyType, NodeType, SageMakerStepKind, StepSpecification

__all__ = ["TABULAR_PREPROCESSING_PORTS", "tabular_preprocessing_spec"]

#: ``processed_data`` has no alias: the PyTorch training step's ``input_path`` is fed from it by the
#: resolver's typed tier (``processed_data`` type, compatible source, keywords), as the seed documents
#: ("Previous step's processed_data output"). An alias named after one consumer's input would couple this
#: step to that consumer and win by name over every typed reason.
TABULAR_PREPROCESSING_PORTS = StepPorts(
    step_type="TabularPreprocessingStep",
    node_type=NodeType.INTERNAL,
    sagemaker_step_kind=SageMakerStepKind.PROCESSING,
    entry_point="preprocess.py",
    inputs=(
        InputPort(
            name="raw_data",
            container_path="/opt/ml/processing/input/raw",
            channel="raw_data",
            kind=DependencyType.RAW_DATA,
            required=True,
            compatible_sources=("DataLoadStep",),
            semantic_keywords=("raw", "data", "table", "input"),
            description="The raw table: .csv, .csv.gz or .parquet files under one S3 prefix.",
        ),
    ),
    outputs=(
        OutputPort(
            name="processed_data",
            kind=DependencyType.PROCESSED_DATA,
            property_path="properties.ProcessingOutputConfig.Outputs['processed_data'].S3Output.S3Uri",
            # train/part-0.csv, val/part-0.csv, test/part-0.csv below it
            container_path="/opt/ml/processing/output/processed_data",
            description="S3 prefix with train/, val/ and test/, each holding part-0.csv.",
        ),
    ),
    config_paths={"code": PROCESSING_CODE_DIR},
    optional_env_vars={PROCESSING_BASE_ENV: "/opt/ml/processing"},
    description=(
        "Reads the raw table, splits its rows deterministically (numpy RandomState(seed), per label value "
        "when --label-name is given) into train/val/test by the given ratios and writes each split as "
        "processed_data/<split>/part-0.csv."
    ),
)


def tabular_preprocessing_spec() -> StepSpecification:
    """``raw_data`` (a table) in; ``processed_data`` (``train/``, ``val/``, ``test/``) out."""
    return TABULAR_PREPROCESSING_PORTS.specification()
