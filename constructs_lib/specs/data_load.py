"""The data-load step's ports (the public stand-in for the seed's Cradle loader) and specification."""

from __future__ import annotations

from constructs_lib.ports import PROCESSING_BASE_ENV, PROCESSING_CODE_DIR, InputPort, OutputPort, StepPorts
from constructs_lib.specs.base import DependencyType, NodeType, SageMakerStepKind, StepSpecification

__all__ = ["DATA_LOAD_PORTS", "data_load_spec"]

DATA_LOAD_PORTS = StepPorts(
    step_type="DataLoadStep",
    node_type=NodeType.SOURCE,
    sagemaker_step_kind=SageMakerStepKind.PROCESSING,
    entry_point="load.py",
    inputs=(
        InputPort(
            name="raw_source",
            container_path="/opt/ml/processing/input/raw_source",
            channel="raw_source",
            kind=None,  # the pipeline parameter DataLoadConfig.parameter_name, not a predecessor
            description="The raw table's S3 location: the pipeline parameter (default RawDataS3Uri).",
        ),
    ),
    outputs=(
        OutputPort(
            name="raw_data",
            kind=DependencyType.RAW_DATA,
            property_path="properties.ProcessingOutputConfig.Outputs['raw_data'].S3Output.S3Uri",
            container_path="/opt/ml/processing/output/raw_data",
            description="S3 prefix holding the validated table as part-0.csv.",
        ),
    ),
    config_paths={"code": PROCESSING_CODE_DIR},
    optional_env_vars={PROCESSING_BASE_ENV: "/opt/ml/processing"},
    description=(
        "Reads every .csv, .csv.gz and .parquet file under raw_source (sorted by path), checks they share "
        "one set of columns, that the required columns are present and that there are at least --min-rows "
        "rows, and writes the table to raw_data/part-0.csv."
    ),
)


def data_load_spec() -> StepSpecification:
    """No dependencies (its source is a pipeline parameter); ``raw_data`` (the validated table) out."""
    return DATA_LOAD_PORTS.specification()
